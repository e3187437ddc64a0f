"""Fixtures and helpers for the LLM client tests: the fake endpoint, a session, clients that
retry within milliseconds (`client_maker`, for every fake), and collecting a stream."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from bot.llm.client import LLMClient
from bot.llm.types import ChatMessage, ChatRequest, Completion, StreamEvent
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_rules import Flavour

MakeClient = Callable[..., LLMClient]


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def client_maker(
    session: aiohttp.ClientSession, base_url: str, *, seed: int, **defaults: Any
) -> MakeClient:
    """Makes `LLMClient`s on `base_url` with millisecond backoff and 5 s timeouts, so no test
    waits on real retry delays; `defaults` (api_key, protocol, ...), then each call's options,
    override those settings. Each client gets its own `random.Random(seed)`."""

    def make(**options: Any) -> LLMClient:
        settings: dict[str, Any] = {
            "backoff_base": 0.001,
            "backoff_max": 0.01,
            "rng": random.Random(seed),
            "first_byte_timeout": 5,
            "idle_timeout": 5,
            **defaults,
            **options,
        }
        return LLMClient(session, base_url, **settings)

    return make


@pytest.fixture
def make_client(llm: FakeLLMServer, http: aiohttp.ClientSession) -> MakeClient:
    """An `LLMClient` on the fake server with millisecond backoff; override any option."""
    return client_maker(http, llm.base_url, seed=7)


@pytest.fixture
def client(make_client: MakeClient) -> LLMClient:
    return make_client()


def request(text: str = "hi", **options: Any) -> ChatRequest:
    return ChatRequest(model="fake-model", messages=[ChatMessage("user", text)], **options)


async def collect(client: LLMClient, req: ChatRequest | None = None) -> list[StreamEvent]:
    return [event async for event in client.stream(req or request())]


def last(events: list[StreamEvent]) -> Completion:
    """The stream's `Completion`, which must be its one and last event of that kind."""
    done = events[-1]
    assert isinstance(done, Completion)
    assert sum(isinstance(e, Completion) for e in events) == 1
    return done


async def complete(client: LLMClient, req: ChatRequest | None = None) -> Completion:
    return last(await collect(client, req))


def without_artefacts(request: ChatRequest) -> ChatRequest:
    """`request` with every message's artefacts dropped, as a careless client sends it."""
    return replace(request, messages=tuple(replace(m, artefacts=None) for m in request.messages))


@pytest.fixture
async def servers() -> AsyncIterator[dict[Flavour, FakeLLMServer]]:
    """One strict fake per provider flavour, for the tests of the flavours' own checks."""
    found: dict[Flavour, FakeLLMServer] = {}
    try:
        for flavour in ("generic", "deepseek", "gemini", "openrouter"):
            found[flavour] = server = FakeLLMServer(flavour=flavour)
            await server.start()
        yield found
    finally:
        for server in found.values():
            await server.close()
