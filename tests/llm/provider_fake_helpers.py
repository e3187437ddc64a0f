"""Shared plumbing for the `test_provider_fakes_*` modules: one fake endpoint per provider
flavour, a real client pointed at it, a step that issues a tool-calling reply per flavour (so the
fake remembers the reasoning state it handed out), and raw posts of a follow-up request for
checking what each flavour accepts or refuses."""

from __future__ import annotations

import json
import random
from typing import Any

import aiohttp

from bot.llm.client import LLMClient
from bot.llm.types import ChatMessage, ChatRequest, Completion
from tests.fakes.llm_scripts import Scripted
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_scripts import (
    GEMINI_MODEL,
    OPENROUTER_MODEL,
    gemini_tool_reply,
    openrouter_reply,
)
from tests.llm.conftest import complete

USER = {"role": "user", "content": "what is 6*7?"}
CALC = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluates arithmetic.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}},
    },
}


def make_client(http: aiohttp.ClientSession, server: FakeLLMServer) -> LLMClient:
    return LLMClient(
        http, server.base_url, backoff_base=0.001, rng=random.Random(1), first_byte_timeout=5
    )


async def issue(
    http: aiohttp.ClientSession, server: FakeLLMServer, script: Scripted, model: str
) -> Completion:
    """Stream `script` through the real client, so the fake remembers what it issued."""
    server.enqueue(script)
    req = ChatRequest(model=model, messages=[ChatMessage("user", "what is 6*7?")])
    return await complete(make_client(http, server), req)


def calls_message(completion: Completion, **fields: Any) -> dict[str, Any]:
    """The assistant message of `completion` as a client sends it back, plus `fields`."""
    message = ChatMessage("assistant", completion.text or None, completion.tool_calls).to_wire()
    return {**message, **fields}


def results(completion: Completion) -> list[dict[str, Any]]:
    return [
        {"role": "tool", "tool_call_id": call.id, "content": "42"} for call in completion.tool_calls
    ]


async def post(
    http: aiohttp.ClientSession, server: FakeLLMServer, body: dict[str, Any]
) -> tuple[int, Any]:
    full = {"stream": True, "tools": [CALC], **body}
    async with http.post(f"{server.base_url}/chat/completions", json=full) as response:
        raw = await response.read()
        if response.content_type == "application/json":
            return response.status, json.loads(raw)
        return response.status, raw


async def gemini_step(http: aiohttp.ClientSession, server: FakeLLMServer) -> Completion:
    parallel = [("calculator", {"e": 1}), ("calculator", {"e": 2})]
    return await issue(http, server, gemini_tool_reply(parallel), GEMINI_MODEL)


async def openrouter_step(http: aiohttp.ClientSession, server: FakeLLMServer) -> Completion:
    script = openrouter_reply(
        reasoning="Multiply the numbers.",
        tool_calls=[("calculator", {"e": 1})],
        redacted="RWNyeXB0ZWQ=",
    )
    return await issue(http, server, script, OPENROUTER_MODEL)
