"""Fixtures for the tool-loop tests: the real LLM client against the strict fake endpoint."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence

import aiohttp
import pytest

from bot.llm.client import LLMClient
from bot.llm.loop import run_tool_loop
from bot.llm.tools import Tool, ToolContext, ToolRegistry
from bot.llm.types import ChatMessage, ChatRequest, LoopEvent
from tests.fakes.llm_server import FakeLLMServer


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture
async def client(llm: FakeLLMServer) -> AsyncIterator[LLMClient]:
    async with aiohttp.ClientSession() as session:
        yield LLMClient(
            session,
            llm.base_url,
            backoff_base=0.001,
            backoff_max=0.01,
            rng=random.Random(3),
            first_byte_timeout=5,
            idle_timeout=5,
        )


def request(text: str = "hi") -> ChatRequest:
    return ChatRequest(
        model="fake-model",
        messages=[ChatMessage("system", "be brief"), ChatMessage("user", text)],
    )


async def run(
    client: LLMClient,
    tools: Sequence[Tool] = (),
    *,
    req: ChatRequest | None = None,
    **options: object,
) -> list[LoopEvent]:
    events = run_tool_loop(
        client, req or request(), ToolRegistry(tools), ToolContext(conversation_id=1), **options
    )  # type: ignore[arg-type]
    return [event async for event in events]
