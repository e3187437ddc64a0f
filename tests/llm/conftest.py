"""Fixtures for the LLM client tests: the fake endpoint, a session, a fast-retrying client."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bot.llm.client import LLMClient
from bot.llm.types import ChatMessage, ChatRequest, Completion, StreamEvent
from tests.fakes.llm_server import FakeLLMServer

MakeClient = Callable[..., LLMClient]


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def make_client(llm: FakeLLMServer, http: aiohttp.ClientSession) -> MakeClient:
    """An `LLMClient` on the fake server with millisecond backoff; override any option."""

    def make(**options: Any) -> LLMClient:
        settings: dict[str, Any] = {
            "backoff_base": 0.001,
            "backoff_max": 0.01,
            "rng": random.Random(7),
            "first_byte_timeout": 5,
            "idle_timeout": 5,
        }
        settings.update(options)
        return LLMClient(http, llm.base_url, **settings)

    return make


@pytest.fixture
def client(make_client: MakeClient) -> LLMClient:
    return make_client()


def request(text: str = "hi", **options: Any) -> ChatRequest:
    return ChatRequest(model="fake-model", messages=[ChatMessage("user", text)], **options)


async def collect(client: LLMClient, req: ChatRequest | None = None) -> list[StreamEvent]:
    return [event async for event in client.stream(req or request())]


async def complete(client: LLMClient, req: ChatRequest | None = None) -> Completion:
    events = await collect(client, req)
    last = events[-1]
    assert isinstance(last, Completion)
    assert sum(isinstance(e, Completion) for e in events) == 1
    return last
