"""SSE ingestion: our `LLMClient.stream` versus the `openai` SDK on the same recorded stream.

One recorded OpenAI stream (`make_recorded_stream`: reasoning, text, a fragmented tool call,
usage) is generated once and served by `FakeLLMServer` on 127.0.0.1, in the same event loop.
The server writes it in 16 KiB pieces cut at arbitrary offsets (events straddle reads, as on a
real connection) so its own cost stays small next to the clients'. Both clients parse the
whole stream and assemble text, reasoning and tool arguments; runs are interleaved (ours, SDK,
ours, SDK, …) and the medians compared. A third, I/O-free number shows what our decoder and
accumulator cost alone.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.results import Result, Target, median, time_async, time_sync
from bot.llm.accumulate import StreamAccumulator
from bot.llm.client import LLMClient
from bot.llm.sse import SSEDecoder
from bot.llm.types import ChatMessage, ChatRequest, Completion
from tests.fakes.llm_scripts import Scripted, make_recorded_stream, raw_sse
from tests.fakes.llm_server import FakeLLMServer

GROUP = "engine"
WRITE_SIZE = 16 * 1024
MODEL = "gpt-4o-mini"


@dataclass(frozen=True, slots=True)
class Assembled:
    """What a consumer ends up with; compared across clients so neither skips work."""

    text_chars: int
    reasoning_chars: int
    arguments: str


def sdk_available() -> bool:
    return importlib.util.find_spec("openai") is not None


async def consume_ours(client: LLMClient) -> Assembled:
    request = ChatRequest(MODEL, [ChatMessage("user", "go")])
    events = 0
    async for event in client.stream(request):
        events += 1
        if isinstance(event, Completion):
            arguments = event.tool_calls[0].arguments if event.tool_calls else ""
            return Assembled(len(event.text), len(event.reasoning), arguments)
    raise RuntimeError(f"the stream ended without a Completion after {events} events")


async def consume_sdk(sdk: Any) -> Assembled:
    """The way an SDK user accumulates a streamed answer."""
    stream = await sdk.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "go"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text: list[str] = []
    reasoning: list[str] = []
    names: dict[int, str] = {}
    arguments: dict[int, list[str]] = {}
    usage = None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                text.append(delta.content)
            extra = getattr(delta, "reasoning_content", None)
            if extra:
                reasoning.append(extra)
            for call in delta.tool_calls or ():
                if call.function is not None:
                    if call.function.name:
                        names[call.index] = call.function.name
                    if call.function.arguments:
                        arguments.setdefault(call.index, []).append(call.function.arguments)
    if usage is None:
        raise RuntimeError("the SDK saw no usage chunk")
    joined = "".join(arguments.get(0, []))
    return Assembled(len("".join(text)), len("".join(reasoning)), joined)


def decode_in_memory(pieces: list[bytes]) -> Assembled:
    """Our decoder and accumulator on the same bytes, without HTTP."""
    decoder = SSEDecoder()
    accumulator = StreamAccumulator()
    loads = json.loads
    for piece in pieces:
        for payload in decoder.feed(piece):
            if payload == b"[DONE]":
                break
            accumulator.feed(loads(payload))
    done = accumulator.finish()
    arguments = done.tool_calls[0].arguments if done.tool_calls else ""
    return Assembled(len(done.text), len(done.reasoning), arguments)


async def run(quick: bool) -> list[Result]:
    n_chunks = 2_000 if quick else 100_000
    repetitions = 1 if quick else 5
    stream = make_recorded_stream(n_chunks)
    script: Scripted = raw_sse(stream, every=WRITE_SIZE)
    have_sdk = sdk_available()
    ours_s: list[float] = []
    sdk_s: list[float] = []
    outputs: list[Assembled] = []

    async with (
        FakeLLMServer(responder=lambda _body: script) as server,
        aiohttp.ClientSession() as session,
    ):
        ours = LLMClient(session, server.base_url, "x", max_retries=0)
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
    ours_rate = n_chunks / median(ours_s)
    sdk_rate = n_chunks / median(sdk_s) if sdk_s else math.nan
    size = f"{n_chunks:,} chunks, {len(stream) / 1e6:.1f} MB, median of {repetitions}"
    no_sdk = "" if have_sdk else "openai SDK not installed (`make bench` installs it)"
    return [
        Result(GROUP, "SSE ingestion, ours (LLMClient.stream)", ours_rate, "chunks/s", note=size),
        Result(GROUP, "SSE ingestion, openai SDK", sdk_rate, "chunks/s", note=no_sdk),
        Result(
            GROUP,
            "SSE ingestion ratio ours/SDK",
            ours_rate / sdk_rate,
            "x",
            Target(1.0, higher_is_better=True),
        ),
        Result(
            GROUP,
            "SSE decode+accumulate, no I/O",
            n_chunks / median(memory_s),
            "chunks/s",
            note="SSEDecoder + json.loads + StreamAccumulator on the same bytes, in memory",
        ),
    ]
