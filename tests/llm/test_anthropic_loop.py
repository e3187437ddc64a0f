"""The tool loop over Anthropic's Messages API with extended thinking: signed thinking blocks
go back unchanged with every tool round, as the strict fake (and Anthropic) demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.errors import LLMBadRequestError
from bot.llm.client import LLMClient
from bot.llm.loop import run_tool_loop
from bot.llm.protocols.anthropic import AnthropicProtocol
from bot.llm.protocols.base import CallOptions
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
)
from tests.fakes.anthropic_scripts import (
    anthropic_reply,
    assemble,
    parse_events,
    redacted,
    text,
    thinking,
    tool_use,
)
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.llm_scripts import Scripted
from tests.llm.conftest import client_maker, without_artefacts
from tests.loop.tools import echo, tool

MODEL = "claude-sonnet-4-5-20250929"
THINKING = CallOptions(params={"thinking": {"type": "enabled", "budget_tokens": 2048}})


class OneModel:
    """The loop's `ChatStreamer` for one model with its configured options (what the router
    does for a model reference), optionally losing the artefacts like a careless client."""

    def __init__(self, client: LLMClient, options: CallOptions, *, drop_artefacts: bool) -> None:
        self._client = client
        self._options = options
        self._drop = drop_artefacts

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        if self._drop:
            request = without_artefacts(request)
        return self._client.stream(request, self._options)


@pytest.fixture
async def anthropic() -> AsyncIterator[FakeAnthropicServer]:
    async with FakeAnthropicServer(api_key="sk-ant-test") as server:
        yield server


@pytest.fixture
def client(anthropic: FakeAnthropicServer, http: aiohttp.ClientSession) -> LLMClient:
    make = client_maker(
        http, anthropic.base_url, seed=11, api_key="sk-ant-test", protocol=AnthropicProtocol()
    )
    return make()


def rounds() -> list[Scripted]:
    return [
        anthropic_reply(
            [
                thinking("The member wants x=1 echoed."),
                text("Let me check."),
                tool_use("echo", {"x": 1}),
            ],
            chunk_size=4,
        ),
        anthropic_reply(
            [
                thinking("Now x=2, then done."),
                redacted("EmwKAhgBEgy3va3pzix/LafPsn4aGgzFrz5bQ7ZDSs3jZ7oiMNwnOrMrb2cH"),
                tool_use("echo", {"x": 2}),
            ],
            chunk_size=5,
        ),
        anthropic_reply([thinking("Both results are in."), text("x was 1, then 2.")]),
    ]


async def run(client: LLMClient, *, drop_artefacts: bool = False) -> list[LoopEvent]:
    streamer = OneModel(client, THINKING, drop_artefacts=drop_artefacts)
    request = ChatRequest(MODEL, [ChatMessage("system", "Be brief."), ChatMessage("user", "go")])
    events = run_tool_loop(
        streamer,
        request,
        ToolRegistry([tool("echo", echo)]),
        ToolContext(conversation_id=1),
    )
    return [event async for event in events]


def streamed_thinking(script: Scripted) -> list[dict[str, Any]]:
    blocks = assemble(parse_events(b"".join(script.writes)))
    return [b for b in blocks if b["type"] in ("thinking", "redacted_thinking")]


async def test_anthropic_loop_sends_thinking_back_unchanged_every_round(
    anthropic: FakeAnthropicServer, client: LLMClient
) -> None:
    scripts = rounds()
    anthropic.enqueue(*scripts)
    events = await run(client)

    done = events[-1]
    assert isinstance(done, LoopDone), events[-1]
    assert (done.reason, done.text, done.rounds) == ("complete", "x was 1, then 2.", 3)
    assert [e.status for e in events if isinstance(e, ToolFinished)] == ["ok", "ok"]
    sent = anthropic.messages_requests
    assert len(sent) == 3
    assert [r.rejected for r in sent] == [None, None, None]  # every strict check passed
    assert all(r.json["thinking"]["type"] == "enabled" for r in sent)

    # The last request carries both tool rounds, each led by its thinking exactly as streamed.
    messages = sent[2].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    first, second = messages[1]["content"], messages[3]["content"]
    assert first[:1] == streamed_thinking(scripts[0])
    assert [b["type"] for b in first] == ["thinking", "text", "tool_use"]
    assert second[:2] == streamed_thinking(scripts[1])
    assert [b["type"] for b in second] == ["thinking", "redacted_thinking", "tool_use"]
    assert messages[2]["content"][0]["type"] == "tool_result"
    assert messages[4]["content"][0]["tool_use_id"] == second[2]["id"]

    # Every round reports what it must send back; the final answer's thinking too.
    finished = [e for e in events if isinstance(e, RoundFinished)]
    assert all(r.artefacts is not None for r in finished)
    assert finished[1].artefacts is not None
    assert list(finished[1].artefacts.data["thinking_blocks"]) == streamed_thinking(scripts[1])


async def test_anthropic_loop_without_thinking_blocks_is_rejected_by_the_fake(
    anthropic: FakeAnthropicServer, client: LLMClient
) -> None:
    # The control: losing the artefacts breaks the second request, as Anthropic would.
    anthropic.enqueue(*rounds())
    events = await run(client, drop_artefacts=True)
    failure = events[-1]
    assert isinstance(failure, LoopError)
    assert isinstance(failure.error, LLMBadRequestError)
    rejected = anthropic.messages_requests[1].rejected or ""
    assert "Expected `thinking` or `redacted_thinking`, but found `text`" in rejected
