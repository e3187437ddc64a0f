"""The fake endpoint itself: strict validation, scripting, recording, the benchmark stream."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.llm.client import LLMClient
from bot.llm.types import Completion, ToolCallProgress
from tests.fakes.llm_scripts import make_recorded_stream, raw_sse, text_reply
from tests.fakes.llm_server import FakeLLMServer, validate_chat_request
from tests.llm.conftest import collect, complete

USER = {"role": "user", "content": "hi"}
CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
CALL2 = {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{}"}}
TOOL_CALLS = {"role": "assistant", "content": None, "tool_calls": [CALL, CALL2]}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def body(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "m", "stream": True, "messages": messages, **extra}


def result(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "ok"}


VALID = [
    body([USER]),
    body([{"role": "system", "content": "s"}, USER, {"role": "assistant", "content": "a"}, USER]),
    body([USER, TOOL_CALLS, result("c2"), result("c1"), USER], tools=[TOOL]),
    body([USER], tools=[TOOL], tool_choice="none"),
    body([{"role": "developer", "content": "d"}, {"role": "user", "content": [{"type": "text"}]}]),
]

INVALID = {
    "not-object": [USER],
    "no-model": {"stream": True, "messages": [USER]},
    "empty-messages": body([]),
    "unknown-role": body([{"role": "wizard", "content": "x"}]),
    "stream-false": {**body([USER]), "stream": False},
    "stream-missing": {"model": "m", "messages": [USER]},
    "two-assistants": body(
        [USER, {"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]
    ),
    "missing-result": body([USER, TOOL_CALLS, result("c1"), USER]),
    "orphan-result": body([USER, result("c9")]),
    "duplicate-result": body([USER, TOOL_CALLS, result("c1"), result("c1"), result("c2")]),
    "message-between": body([USER, TOOL_CALLS, result("c1"), USER, result("c2")]),
    "calls-at-end": body([USER, TOOL_CALLS]),
    "call-no-id": body([USER, {"role": "assistant", "tool_calls": [{**CALL, "id": ""}]}]),
    "call-args-object": body(
        [
            USER,
            {
                "role": "assistant",
                "tool_calls": [{**CALL, "function": {"name": "f", "arguments": {}}}],
            },
            result("c1"),
        ]
    ),
    "tool-bad-type": body([USER], tools=[{"type": "fn", "function": TOOL["function"]}]),
    "tool-bad-name": body([USER], tools=[{"type": "function", "function": {"name": "a b"}}]),
    "tool-bad-params": body(
        [USER],
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}],
    ),
    "tools-empty": body([USER], tools=[]),
    "tool-choice-without-tools": body([USER], tool_choice="auto"),
}


@pytest.mark.parametrize("payload", VALID)
def test_fake_llm_server_accepts_valid_requests(payload: dict[str, Any]) -> None:
    assert validate_chat_request(payload) is None


@pytest.mark.parametrize("payload", INVALID.values(), ids=INVALID.keys())
def test_fake_llm_server_rejects_invalid_requests(payload: Any) -> None:
    assert validate_chat_request(payload) is not None


async def test_fake_llm_server_answers_400_openai_shape(
    llm: FakeLLMServer, http: aiohttp.ClientSession
) -> None:
    bad = INVALID["missing-result"]
    async with http.post(f"{llm.base_url}/chat/completions", json=bad) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error" and "c2" in error["message"]
    assert llm.requests[-1].rejected == error["message"]
    assert llm.requests[-1].json == bad


async def test_fake_llm_server_lenient_mode_skips_validation(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeLLMServer(strict=False) as llm:
        url = f"{llm.base_url}/chat/completions"
        async with http.post(url, json={"stream": False}) as response:
            assert response.status == 200


async def test_fake_llm_server_default_reply_and_responder(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    assert (await complete(client)).text == "Hello from the fake model."
    llm.responder = lambda b: text_reply(f"echo {b['messages'][-1]['content']}")
    assert (await complete(client)).text == "echo hi"
    llm.enqueue(text_reply("queued"))
    assert (await complete(client)).text == "queued"
    assert (await complete(client)).text == "echo hi"
    assert len(llm.chat_requests) == 4


async def test_fake_llm_server_api_key_required(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeLLMServer(api_key="k") as llm:
        async with http.get(f"{llm.base_url}/models") as response:
            assert response.status == 401
        headers = {"Authorization": "Bearer k"}
        async with http.get(f"{llm.base_url}/models", headers=headers) as response:
            assert response.status == 200
            assert [m["id"] for m in (await response.json())["data"]] == llm.models


async def test_fake_llm_server_recorded_stream_parses(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    data = make_recorded_stream(500)
    assert data.count(b"\n\ndata: ") == 500  # 500 chunks + [DONE]
    llm.enqueue(raw_sse(data, every=4096))
    events = await collect(client)
    done = events[-1]
    assert isinstance(done, Completion) and done.usage is not None
    assert sum(isinstance(e, ToolCallProgress) for e in events) == 1
    assert json.loads(done.tool_calls[0].arguments)["expression"].startswith("1+1")
    assert done.usage.cached_tokens == 1024
    assert done.reasoning and done.text
