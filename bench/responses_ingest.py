"""Responses API ingestion: our `LLMClient` with `ResponsesProtocol` versus the `openai` SDK's
`client.responses.create(stream=True)`, on the same recorded stream.

One recorded stream (`make_responses_recorded_stream`: a reasoning summary, text, a function
call whose arguments arrive in fragments, `response.completed` with the whole output and
usage; every event with its `event:` line, as OpenAI writes them) served by
`FakeResponsesServer`. Both clients assemble text, reasoning summary, the call's arguments and
usage. How it is measured (interleaved runs, medians, the I/O-free number for our SSE decoder
and Responses decoder alone) is `bench.ingest`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.ingest import Ingest, measure
from bench.results import Result
from bench.sse_ingest import open_sdk
from bot.llm.protocols.responses import ResponsesProtocol
from bot.llm.protocols.responses_stream import ResponsesDecoder
from bot.llm.types import Completion
from tests.fakes.responses_scripts import make_responses_recorded_stream
from tests.fakes.responses_server import FakeResponsesServer

GROUP = "protocols"
MODEL = "o4-mini"


@dataclass(frozen=True, slots=True)
class Assembled:
    """What a consumer ends up with; compared across clients so neither skips work."""

    text_chars: int
    reasoning_chars: int
    arguments: str
    output_tokens: int


def summarise(done: Completion) -> Assembled:
    arguments = done.tool_calls[0].arguments if done.tool_calls else ""
    tokens = done.usage.completion_tokens if done.usage else -1
    return Assembled(len(done.text), len(done.reasoning), arguments, tokens)


async def consume_sdk(sdk: Any) -> Assembled:
    """The way an SDK user accumulates a streamed response."""
    stream = await sdk.responses.create(
        model=MODEL,
        input=[{"role": "user", "content": "go"}],
        stream=True,
        store=False,
        include=["reasoning.encrypted_content"],
    )
    text: list[str] = []
    reasoning: list[str] = []
    arguments: dict[str, list[str]] = {}
    calls: list[Any] = []
    usage = None
    async for event in stream:
        kind = event.type
        if kind == "response.output_text.delta":
            text.append(event.delta)
        elif kind == "response.reasoning_summary_text.delta":
            reasoning.append(event.delta)
        elif kind == "response.function_call_arguments.delta":
            arguments.setdefault(event.item_id, []).append(event.delta)
        elif kind == "response.output_item.done" and event.item.type == "function_call":
            calls.append(event.item)
        elif kind == "response.completed":
            usage = event.response.usage
    if usage is None:
        raise RuntimeError("the SDK saw no response.completed")
    joined = "".join(arguments.get(calls[0].id, [])) if calls else ""
    return Assembled(len("".join(text)), len("".join(reasoning)), joined, usage.output_tokens)


INGEST = Ingest(
    group=GROUP,
    label="Responses",
    unit="events",
    decode_name="Responses decode, no I/O",
    decode_note="SSEDecoder + json.loads + ResponsesDecoder on the same bytes, in memory",
    model=MODEL,
    record=make_responses_recorded_stream,
    fake=FakeResponsesServer,
    decoder=ResponsesDecoder,
    summarise=summarise,
    sdk="openai",
    open_sdk=open_sdk,  # the same `openai` client as for chat completions
    consume_sdk=consume_sdk,
    protocol=ResponsesProtocol(),
)


def sdk_available() -> bool:
    return INGEST.sdk_available()


async def run(quick: bool) -> list[Result]:
    return await measure(INGEST, quick)
