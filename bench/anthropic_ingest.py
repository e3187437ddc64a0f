"""Anthropic stream ingestion: our `LLMClient` with `AnthropicProtocol` versus the `anthropic`
SDK on the same recorded Messages API stream.

One recorded stream (`make_anthropic_recorded_stream`: a signed thinking block, text, a tool
call whose input arrives as JSON fragments, usage with cache reads and writes; every event
with its `event:` line, as Anthropic frames it) is generated once and served by
`FakeAnthropicServer` on 127.0.0.1, in the same event loop, in 16 KiB writes cut at arbitrary
offsets. Both clients parse the whole stream and assemble text, thinking, the signature, the
tool arguments and usage; the SDK through `messages.create(stream=True)` (its raw events; its
`messages.stream()` helper also re-parses the partial tool JSON on every fragment, which
would flatter us). Runs are interleaved and the medians compared. A third, I/O-free number
shows what our SSE framing, JSON parsing and decoder cost alone.
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
from bot.llm.protocols.anthropic import AnthropicDecoder, AnthropicProtocol
from bot.llm.sse import SSEDecoder
from bot.llm.types import ChatMessage, ChatRequest, Completion
from tests.fakes.anthropic_scripts import make_anthropic_recorded_stream
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.llm_scripts import Scripted, raw_sse

GROUP = "protocols"
WRITE_SIZE = 16 * 1024
MODEL = "claude-sonnet-4-5-20250929"
KEY = "sk-ant-bench"


@dataclass(frozen=True, slots=True)
class Assembled:
    """What a consumer ends up with; compared across clients so neither skips work."""

    text_chars: int
    thinking_chars: int
    signature: str
    arguments: str
    prompt_tokens: int
    output_tokens: int


def sdk_available() -> bool:
    return importlib.util.find_spec("anthropic") is not None


def _from_completion(done: Completion) -> Assembled:
    blocks = done.artefacts.get("thinking_blocks") or [{}]
    usage = done.usage
    return Assembled(
        len(done.text),
        len(done.reasoning),
        blocks[0].get("signature", ""),
        done.tool_calls[0].arguments if done.tool_calls else "",
        usage.prompt_tokens if usage else 0,
        usage.completion_tokens if usage else 0,
    )


async def consume_ours(client: LLMClient) -> Assembled:
    request = ChatRequest(MODEL, [ChatMessage("user", "go")])
    events = 0
    async for event in client.stream(request):
        events += 1
        if isinstance(event, Completion):
            return _from_completion(event)
    raise RuntimeError(f"the stream ended without a Completion after {events} events")


async def consume_sdk(sdk: Any) -> Assembled:
    """The way an SDK user accumulates a streamed message from its raw events."""
    stream = await sdk.messages.create(
        model=MODEL,
        max_tokens=4096,
        messages=[{"role": "user", "content": "go"}],
        stream=True,
    )
    text: list[str] = []
    thinking: list[str] = []
    signature: list[str] = []
    arguments: dict[int, list[str]] = {}
    prompt = output = 0
    async for event in stream:
        kind = event.type
        if kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                text.append(delta.text)
            elif delta.type == "thinking_delta":
                thinking.append(delta.thinking)
            elif delta.type == "input_json_delta":
                arguments.setdefault(event.index, []).append(delta.partial_json)
            elif delta.type == "signature_delta":
                signature.append(delta.signature)
        elif kind == "message_start":
            usage = event.message.usage
            prompt = (
                usage.input_tokens
                + (usage.cache_read_input_tokens or 0)
                + (usage.cache_creation_input_tokens or 0)
            )
            output = usage.output_tokens
        elif kind == "message_delta":
            output = event.usage.output_tokens
    joined = "".join(next(iter(arguments.values()), []))
    return Assembled(
        len("".join(text)), len("".join(thinking)), "".join(signature), joined, prompt, output
    )


def decode_in_memory(pieces: list[bytes]) -> Assembled:
    """Our SSE framing, JSON parsing and Anthropic decoder on the same bytes, without HTTP."""
    sse = SSEDecoder()
    decoder = AnthropicDecoder()
    loads = json.loads
    for piece in pieces:
        for payload in sse.feed(piece):
            decoder.feed(loads(payload))
    return _from_completion(decoder.finish())


async def run(quick: bool) -> list[Result]:
    n_events = 2_000 if quick else 100_000
    repetitions = 1 if quick else 5
    stream = make_anthropic_recorded_stream(n_events)
    script: Scripted = raw_sse(stream, every=WRITE_SIZE)
    have_sdk = sdk_available()
    ours_s: list[float] = []
    sdk_s: list[float] = []
    outputs: list[Assembled] = []

    # Not strict: the request checks still run, but remembering the thinking it streams
    # would make the server re-parse the whole recording on every request.
    async with (
        FakeAnthropicServer(strict=False, api_key=KEY, responder=lambda _body: script) as server,
        aiohttp.ClientSession() as session,
    ):
        ours = LLMClient(session, server.base_url, KEY, protocol=AnthropicProtocol(), max_retries=0)
        sdk: Any = None
        if have_sdk:
            import anthropic

            sdk = anthropic.AsyncAnthropic(base_url=server.root_url, api_key=KEY, max_retries=0)
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
    no_sdk = "" if have_sdk else "anthropic SDK not installed (`make bench` installs it)"
    return [
        Result(
            GROUP, "Anthropic ingestion, ours (LLMClient.stream)", ours_rate, "events/s", note=size
        ),
        Result(GROUP, "Anthropic ingestion, anthropic SDK", sdk_rate, "events/s", note=no_sdk),
        Result(
            GROUP,
            "Anthropic ingestion ratio ours/SDK",
            ours_rate / sdk_rate,
            "x",
            Target(1.0, higher_is_better=True),
        ),
        Result(
            GROUP,
            "Anthropic decode, no I/O",
            n_events / median(memory_s),
            "events/s",
            note="SSEDecoder + json.loads + AnthropicDecoder on the same bytes, in memory",
        ),
    ]
