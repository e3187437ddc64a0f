"""The measuring loop of the stream-ingestion benchmarks: our `LLMClient` against an official
SDK on one recorded stream, and our decoding alone.

The recorded stream is generated once and served by a fake on 127.0.0.1, in the same event
loop, in 16 KiB writes cut at arbitrary offsets (events straddle reads, as on a real
connection), so the server's own cost stays small next to the clients'. Both clients parse the
whole stream and assemble the same summary; after one untimed run each, runs are interleaved
(ours, SDK, ours, SDK, …) and the medians compared, and the summaries must all be equal (or
neither did all the work). A last, I/O-free number feeds the same bytes to our SSE framing,
`json.loads` and the protocol's decoder in memory.

Each benchmark (`bench.sse_ingest`, `bench.anthropic_ingest`, `bench.responses_ingest`)
describes what is its own as an `Ingest` and reports `await measure(ingest, quick)`.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import aiohttp

from bench.results import Result, Target, median, time_async, time_sync
from bot.llm.client import LLMClient
from bot.llm.protocols.base import WireProtocol
from bot.llm.sse import SSEDecoder
from bot.llm.types import ChatMessage, ChatRequest, Completion
from tests.fakes.http_fake import FakeHTTPServer
from tests.fakes.llm_scripts import raw_sse

WRITE_SIZE = 16 * 1024

Summary = TypeVar("Summary", bound=Hashable)


class Decoder(Protocol):
    """What turns parsed stream events into a `Completion` (a protocol's decoder)."""

    def feed(self, event: dict[str, Any], /) -> object: ...

    def finish(self) -> Completion: ...


@dataclass(frozen=True)
class Ingest(Generic[Summary]):
    """One ingestion benchmark: the stream, the fake, the SDK and how each side sums up."""

    group: str
    label: str  # starts the name of every result: "SSE", "Anthropic", "Responses"
    unit: str  # what the recorded stream is counted in: "chunks" or "events"
    decode_name: str  # the I/O-free result's name, and its note
    decode_note: str
    model: str
    record: Callable[[int], bytes]  # a recorded stream of about that many units
    fake: type[FakeHTTPServer]
    decoder: Callable[[], Decoder]
    summarise: Callable[[Completion], Summary]  # what our client ends up with
    sdk: str  # the official SDK's package
    open_sdk: Callable[[FakeHTTPServer], Any]  # its async client on the fake (imports it)
    consume_sdk: Callable[[Any], Awaitable[Summary]]  # one streamed answer through it
    protocol: WireProtocol | None = None
    api_key: str = "x"
    fake_options: Mapping[str, Any] = field(default_factory=dict)

    def sdk_available(self) -> bool:
        return importlib.util.find_spec(self.sdk) is not None


async def consume_ours(ingest: Ingest[Summary], client: LLMClient) -> Summary:
    request = ChatRequest(ingest.model, [ChatMessage("user", "go")])
    events = 0
    async for event in client.stream(request):
        events += 1
        if isinstance(event, Completion):
            return ingest.summarise(event)
    raise RuntimeError(f"the stream ended without a Completion after {events} events")


def decode_in_memory(ingest: Ingest[Summary], pieces: list[bytes]) -> Summary:
    """Our SSE framing, JSON parsing and the protocol's decoder on the bytes, without HTTP."""
    sse = SSEDecoder()
    decoder = ingest.decoder()
    loads = json.loads
    for piece in pieces:
        for payload in sse.feed(piece):
            # Chat completions end with `[DONE]`, which is not JSON (and the last payload).
            if payload != b"[DONE]":
                decoder.feed(loads(payload))
    return ingest.summarise(decoder.finish())


async def measure(ingest: Ingest[Summary], quick: bool) -> list[Result]:
    n = 2_000 if quick else 100_000
    repetitions = 1 if quick else 5
    stream = ingest.record(n)
    script = raw_sse(stream, every=WRITE_SIZE)
    have_sdk = ingest.sdk_available()
    ours_s: list[float] = []
    sdk_s: list[float] = []
    outputs: list[Summary] = []

    async with (
        ingest.fake(responder=lambda _body: script, **ingest.fake_options) as server,
        aiohttp.ClientSession() as session,
    ):
        ours = LLMClient(
            session, server.base_url, ingest.api_key, protocol=ingest.protocol, max_retries=0
        )
        sdk = ingest.open_sdk(server) if have_sdk else None
        try:

            async def run_ours() -> None:
                outputs.append(await consume_ours(ingest, ours))

            async def run_sdk() -> None:
                outputs.append(await ingest.consume_sdk(sdk))

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
    memory_s = [time_sync(lambda: decode_in_memory(ingest, pieces)) for _ in range(repetitions)]
    ours_rate = n / median(ours_s)
    sdk_rate = n / median(sdk_s) if sdk_s else math.nan
    rate = f"{ingest.unit}/s"
    size = f"{n:,} {ingest.unit}, {len(stream) / 1e6:.1f} MB, median of {repetitions}"
    no_sdk = "" if have_sdk else f"{ingest.sdk} SDK not installed (`make bench` installs it)"
    name = f"{ingest.label} ingestion"
    return [
        Result(ingest.group, f"{name}, ours (LLMClient.stream)", ours_rate, rate, note=size),
        Result(ingest.group, f"{name}, {ingest.sdk} SDK", sdk_rate, rate, note=no_sdk),
        Result(
            ingest.group,
            f"{name} ratio ours/SDK",
            ours_rate / sdk_rate,
            "x",
            Target(1.0, higher_is_better=True),
        ),
        Result(
            ingest.group,
            ingest.decode_name,
            n / median(memory_s),
            rate,
            note=ingest.decode_note,
        ),
    ]
