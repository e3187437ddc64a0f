"""`run_tool_loop` with a reasoning model over the Responses API: the strict fake checks every
request for the reasoning items (with their encrypted content) the model needs back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.errors import LLMBadRequestError
from bot.llm.client import LLMClient
from bot.llm.loop import run_tool_loop
from bot.llm.protocols.responses import ResponsesProtocol
from bot.llm.tools import ToolContext, ToolRegistry
from bot.llm.types import (
    ChatMessage,
    ChatRequest,
    LoopDone,
    LoopError,
    LoopEvent,
    RoundFinished,
    StreamEvent,
    ToolFinished,
    Usage,
    UsageReported,
)
from tests.fakes.responses_scripts import responses_text, responses_tool_calls
from tests.fakes.responses_server import FakeResponsesServer
from tests.llm.conftest import client_maker, without_artefacts
from tests.loop.tools import echo, tool

MODEL = "gpt-5-mini"


@pytest.fixture
async def server() -> AsyncIterator[FakeResponsesServer]:
    async with FakeResponsesServer() as fake:
        yield fake


@pytest.fixture
def client(server: FakeResponsesServer, http: aiohttp.ClientSession) -> LLMClient:
    make = client_maker(
        http, server.base_url, seed=3, api_key="sk-test", protocol=ResponsesProtocol()
    )
    return make()


class ForgetsReasoning:
    """A client that drops every message's artefacts before sending (a broken history)."""

    def __init__(self, client: LLMClient) -> None:
        self._client = client

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        return self._client.stream(without_artefacts(request))


async def run(client: Any) -> list[LoopEvent]:
    request = ChatRequest(
        MODEL, [ChatMessage("system", "Use tools."), ChatMessage("user", "echo twice")]
    )
    events = run_tool_loop(client, request, ToolRegistry([tool("echo", echo)]), ToolContext(1))
    return [event async for event in events]


def enqueue_three_rounds(server: FakeResponsesServer) -> None:
    server.enqueue(
        responses_tool_calls([("echo", {"n": 1})], reasoning="First, echo once.", model=MODEL),
        responses_tool_calls(
            [("echo", {"n": 2}), ("echo", {"n": 3})],
            reasoning=["Now twice more.", "In parallel."],
            text="Two more.",
            model=MODEL,
        ),
        responses_text("All echoed.", reasoning="Summarise.", model=MODEL),
    )


async def test_responses_loop_runs_rounds_of_tools_with_reasoning_sent_back(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    enqueue_three_rounds(server)

    events = await run(client)

    done = events[-1]
    assert isinstance(done, LoopDone) and done.reason == "complete" and done.rounds == 3
    assert done.text == "All echoed."
    assert [r.rejected for r in server.responses_requests] == [None, None, None]
    assert [f.status for f in events if isinstance(f, ToolFinished)] == ["ok", "ok", "ok"]
    # Every later request carries all earlier reasoning items, unchanged, before their calls.
    issued = list(server.issued.encrypted.values())
    for number, sent in enumerate(server.responses_requests):
        echoed = [
            i["encrypted_content"] for i in sent.json["input"] if i.get("type") == "reasoning"
        ]
        assert echoed == issued[:number]
        assert all("id" not in i for i in sent.json["input"])
        assert sent.json["include"] == ["reasoning.encrypted_content"]
    third = server.responses_requests[2].json["input"]
    assert [i.get("type", i.get("role")) for i in third] == [
        "user",
        "reasoning",
        "function_call",
        "function_call_output",
        "reasoning",
        "assistant",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]
    rounds = [e for e in events if isinstance(e, RoundFinished)]
    assert [r.artefacts is not None for r in rounds] == [True, True, True]
    assert rounds[1].reasoning == "Now twice more.\n\nIn parallel."


async def test_responses_loop_reports_provider_usage_once_per_round(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    enqueue_three_rounds(server)

    events = await run(client)

    usages = [e for e in events if isinstance(e, UsageReported)]
    assert [u.status for u in usages] == ["completed"] * 3
    assert {u.usage for u in usages} == {
        Usage(prompt_tokens=1200, completion_tokens=300, cached_tokens=1024, reasoning_tokens=200)
    }


async def test_responses_loop_without_reasoning_items_is_refused_by_the_fake(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    enqueue_three_rounds(server)

    events = await run(ForgetsReasoning(client))

    failure = events[-1]
    assert isinstance(failure, LoopError) and isinstance(failure.error, LLMBadRequestError)
    assert "without its required 'reasoning' item" in (failure.error.detail or "")
    assert server.responses_requests[1].rejected is not None
