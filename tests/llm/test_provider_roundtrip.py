"""The artefacts the chat-completions decoder collects, sent back the way the tool loop sends
them, satisfy each strict provider flavour across several tool rounds and turns: first with
the real client and the loop's message building spelled out, then through `run_tool_loop`."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest

from bot.errors import LLMBadRequestError
from bot.llm.client import LLMClient
from bot.llm.loop import run_tool_loop
from bot.llm.protocols.base import CallOptions
from bot.llm.tools import Tool, ToolContext, ToolRegistry
from bot.llm.types import (
    Artefacts,
    ChatMessage,
    ChatRequest,
    Completion,
    LoopDone,
    LoopError,
    LoopEvent,
    RoundStarted,
    StreamEvent,
    ToolSpec,
)
from tests.fakes.llm_scripts import Scripted
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_rules import Flavour
from tests.fakes.provider_scripts import (
    DEEPSEEK_MODEL,
    GEMINI_MODEL,
    OPENROUTER_MODEL,
    deepseek_responder,
    gemini_responder,
    openrouter_responder,
)

ROUNDS = 3


@dataclass(frozen=True)
class Provider:
    flavour: Flavour
    model: str
    responder: Callable[..., Callable[[dict[str, Any]], Scripted]]
    # What the configuration file would merge into each request for this model.
    params: dict[str, Any]


PROVIDERS = [
    Provider("deepseek", DEEPSEEK_MODEL, deepseek_responder, {}),
    Provider("gemini", GEMINI_MODEL, gemini_responder, {}),
    Provider(
        "openrouter", OPENROUTER_MODEL, openrouter_responder, {"reasoning": {"enabled": True}}
    ),
]
IDS = [p.flavour for p in PROVIDERS]


async def multiply(ctx: ToolContext, expression: str) -> str:
    left, _, right = expression.partition("*")
    return str(int(left) * int(right))


CALCULATOR = Tool(
    "calculator",
    "Multiplies two whole numbers written as `a*b`.",
    {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
    multiply,
)


@dataclass
class Configured:
    """An `LLMClient` with a model's configured params, as the loop calls it."""

    client: LLMClient
    options: CallOptions

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        return self.client.stream(request, self.options)


@pytest.fixture(params=PROVIDERS, ids=IDS)
def provider(request: pytest.FixtureRequest) -> Provider:
    value: Provider = request.param
    return value


@pytest.fixture
async def server(provider: Provider) -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer(
        flavour=provider.flavour, responder=provider.responder(rounds=ROUNDS, text="Done.")
    ) as llm:
        yield llm


@pytest.fixture
def streamer(server: FakeLLMServer, http: aiohttp.ClientSession, provider: Provider) -> Configured:
    client = LLMClient(
        http, server.base_url, backoff_base=0.001, rng=random.Random(5), first_byte_timeout=5
    )
    return Configured(client, CallOptions(params=provider.params))


async def stream_once(streamer: Configured, request: ChatRequest) -> Completion:
    completion = None
    async for event in streamer.stream(request):
        if isinstance(event, Completion):
            completion = event
    assert completion is not None
    return completion


def as_the_loop_sends_it(completion: Completion, model: str) -> ChatMessage:
    """The assistant message the loop appends after a round that called tools."""
    artefacts = None
    if completion.artefacts or any(call.extra for call in completion.tool_calls):
        artefacts = Artefacts(completion.source or model, dict(completion.artefacts))
    return ChatMessage(
        "assistant", completion.text or None, completion.tool_calls, artefacts=artefacts
    )


def without_artefacts(completion: Completion, model: str) -> ChatMessage:
    calls = tuple(replace(call, extra=None) for call in completion.tool_calls)
    return ChatMessage("assistant", completion.text or None, calls)


async def hold_turn(
    streamer: Configured,
    model: str,
    history: list[ChatMessage],
    build: Callable[[Completion, str], ChatMessage] = as_the_loop_sends_it,
) -> Completion:
    """One answer: rounds of tool calls until the model answers in text; `history` grows."""
    tools = (ToolSpec(CALCULATOR.name, CALCULATOR.description, CALCULATOR.parameters),)
    for _ in range(ROUNDS + 1):
        completion = await stream_once(streamer, ChatRequest(model, tuple(history), tools))
        if not completion.tool_calls:
            history.append(ChatMessage("assistant", completion.text))
            return completion
        history.append(build(completion, model))
        for call in completion.tool_calls:
            history.append(ChatMessage("tool", "42", tool_call_id=call.id))
    raise AssertionError("the responder never answered in text")


def tool_call_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "assistant" and m.get("tool_calls")]


def carries_artefacts(flavour: Flavour, message: dict[str, Any]) -> bool:
    if flavour == "deepseek":
        return bool(message.get("reasoning_content"))
    if flavour == "gemini":
        return "thought_signature" in message["tool_calls"][0]["extra_content"]["google"]
    return bool(message.get("reasoning_details"))


async def test_provider_roundtrip_client_passes_strict_checks_over_turns(
    provider: Provider, server: FakeLLMServer, streamer: Configured
) -> None:
    history = [ChatMessage("system", "be brief"), ChatMessage("user", "what is 6*7?")]
    first = await hold_turn(streamer, provider.model, history)
    history.append(ChatMessage("user", "and 7*8?"))
    second = await hold_turn(streamer, provider.model, history)
    assert first.text == second.text == "Done."
    assert [r.rejected for r in server.chat_requests] == [None] * (2 * (ROUNDS + 1))
    last = server.chat_requests[-1].json
    sent = tool_call_messages(last)
    assert len(sent) == 2 * ROUNDS
    assert all(carries_artefacts(provider.flavour, m) for m in sent)


async def test_provider_roundtrip_without_artefacts_is_refused(
    provider: Provider, server: FakeLLMServer, streamer: Configured
) -> None:
    history = [ChatMessage("user", "what is 6*7?")]
    with pytest.raises(LLMBadRequestError) as caught:
        await hold_turn(streamer, provider.model, history, without_artefacts)
    assert caught.value.status == 400
    assert len(server.chat_requests) == 2  # the first round's message came back bare
    assert server.chat_requests[-1].rejected


async def run_answer(streamer: Configured, request: ChatRequest) -> list[LoopEvent]:
    registry = ToolRegistry([CALCULATOR])
    return [e async for e in run_tool_loop(streamer, request, registry, ToolContext())]


def finished(events: Sequence[LoopEvent]) -> LoopDone:
    errors = [e for e in events if isinstance(e, LoopError)]
    # A refusal here is the provider's own error text (e.g. reasoning not passed back).
    assert not errors, getattr(errors[0].error, "detail", errors[0].error)
    done = events[-1]
    assert isinstance(done, LoopDone)
    return done


async def test_provider_roundtrip_tool_loop_passes_strict_checks_over_turns(
    provider: Provider, server: FakeLLMServer, streamer: Configured
) -> None:
    messages = (ChatMessage("system", "be brief"), ChatMessage("user", "what is 6*7?"))
    events = await run_answer(streamer, ChatRequest(provider.model, messages))
    done = finished(events)
    assert (done.reason, done.rounds, done.text) == ("complete", ROUNDS + 1, "Done.")

    # The next turn: the history the loop built (its last request), its answer, a new question.
    last_request = [e for e in events if isinstance(e, RoundStarted)][-1].request
    history = (
        *last_request.messages,
        ChatMessage("assistant", done.text),
        ChatMessage("user", "and 7*8?"),
    )
    done = finished(await run_answer(streamer, ChatRequest(provider.model, history)))
    assert (done.reason, done.rounds) == ("complete", ROUNDS + 1)
    assert all(r.rejected is None for r in server.chat_requests)
    sent = tool_call_messages(server.chat_requests[-1].json)
    assert len(sent) == 2 * ROUNDS
    assert all(carries_artefacts(provider.flavour, m) for m in sent)
