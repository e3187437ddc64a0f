"""Responses API ingestion: our `LLMClient` with `ResponsesProtocol` versus the `openai` SDK's
`client.responses.create(stream=True)`, on the same recorded stream.

One recorded stream (`make_responses_recorded_stream`: a reasoning summary, text, a function
call whose arguments arrive in fragments, `response.completed` with the whole output and
usage; every event with its `event:` line, as OpenAI writes them) is generated once and served
by `FakeResponsesServer` on 127.0.0.1, in the same event loop, in 16 KiB writes cut at
arbitrary offsets. Both clients assemble text, reasoning summary, the call's arguments and
usage; runs are interleaved (ours, SDK, ours, SDK, …) and the medians compared. A third,
I/O-free number shows what our SSE decoder and Responses decoder cost alone.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.results import Result, Target, median, time_async, time_sync
from bot.llm.client import LLMClient
from bot.llm.protocols.responses import ResponsesDecoder, ResponsesProtocol
from bot.llm.sse import SSEDecoder
from bot.llm.types import ChatMessage, ChatRequest, Completion
from tests.fakes.llm_scripts import Scripted, raw_sse
from tests.fakes.responses_scripts import make_responses_recorded_stream
from tests.fakes.responses_server import FakeResponsesServer

GROUP = "protocols"
WRITE_SIZE = 16 * 1024
MODEL = "o4-mini"


@dataclass(frozen=True, slots=True)
class Assembled:
    """What a consumer ends up with; compared across clients so neither skips work."""

    text_chars: int
    reasoning_chars: int
    arguments: str
    output_tokens: int


def sdk_available() -> bool:
    return importlib.util.find_spec("openai") is not None


async def consume_ours(client: LLMClient) -> Assembled:
    request = ChatRequest(MODEL, [ChatMessage("user", "go")])
    events = 0
    async for event in client.stream(request):
        events += 1
        if isinstance(event, Completion):
            arguments = event.tool_calls[0].arguments if event.tool_calls else ""
            tokens = event.usage.completion_tokens if event.usage else -1
            return Assembled(len(event.text), len(event.reasoning), arguments, tokens)
    raise RuntimeError(f"the stream ended without a Completion after {events} events")


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


def decode_in_memory(pieces: list[bytes]) -> Assembled:
    """Our SSE decoder and Responses decoder on the same bytes, without HTTP."""
    sse = SSEDecoder()
    decoder = ResponsesDecoder()
    loads = json.loads
    for piece in pieces:
        for payload in sse.feed(piece):
            decoder.feed(loads(payload))
    done = decoder.finish()
    arguments = done.tool_calls[0].arguments if done.tool_calls else ""
    tokens = done.usage.completion_tokens if done.usage else -1
    return Assembled(len(done.text), len(done.reasoning), arguments, tokens)


async def run(quick: bool) -> list[Result]:
    n_events = 2_000 if quick else 100_000
    repetitions = 1 if quick else 5
    stream = make_responses_recorded_stream(n_events)
    script: Scripted = raw_sse(stream, every=WRITE_SIZE)
    have_sdk = sdk_available()
    ours_s: list[float] = []
    sdk_s: list[float] = []
    outputs: list[Assembled] = []

    async with (
        FakeResponsesServer(responder=lambda _body: script) as server,
        aiohttp.ClientSession() as session,
    ):
        ours = LLMClient(session, server.base_url, "x", protocol=ResponsesProtocol(), max_retries=0)
        sdk: Any = None
        if have_sdk:
            import openai

            sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        try:

            async def run_ours() -> None:
                outputs.append(await consume_ours(ours))

            async def run_sdk() -> None:
                outputs.append(await consume_sdk(sdk))

            # One untimed run each: connection pools, imports and caches warm up.
            await run_ours()
            if sdk is not None:
                await run_sdk()
            for _ in range(repetitions):
                ours_s.append(await time_async(run_ours))
                if sdk is not None:
                    sdk_s.append(await time_async(run_sdk))
        finally:
            if sdk is not None:
                await sdk.close()
    if len(set(outputs)) != 1:
        raise RuntimeError(f"the clients assembled different answers: {set(outputs)}")

    pieces = script.writes
    memory_s = [time_sync(lambda: decode_in_memory(pieces)) for _ in range(repetitions)]
    ours_rate = n_events / median(ours_s)
    sdk_rate = n_events / median(sdk_s) if sdk_s else math.nan
    size = f"{n_events:,} events, {len(stream) / 1e6:.1f} MB, median of {repetitions}"
    no_sdk = "" if have_sdk else "openai SDK not installed (`make bench` installs it)"
    return [
        Result(
            GROUP, "Responses ingestion, ours (LLMClient.stream)", ours_rate, "events/s", note=size
        ),
        Result(GROUP, "Responses ingestion, openai SDK", sdk_rate, "events/s", note=no_sdk),
        Result(
            GROUP,
            "Responses ingestion ratio ours/SDK",
            ours_rate / sdk_rate,
            "x",
            Target(1.0, higher_is_better=True),
        ),
        Result(
            GROUP,
            "Responses decode, no I/O",
            n_events / median(memory_s),
            "events/s",
            note="SSEDecoder + json.loads + ResponsesDecoder on the same bytes, in memory",
        ),
    ]
