"""SSE ingestion: our `LLMClient.stream` versus the `openai` SDK on the same recorded stream.

One recorded OpenAI stream (`make_recorded_stream`: reasoning, text, a fragmented tool call,
usage) served by `FakeLLMServer`; both clients assemble text, reasoning and tool arguments.
How it is measured (interleaved runs, medians, the I/O-free number for our decoder and
accumulator alone) is `bench.ingest`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.ingest import Ingest, measure
from bench.results import Result
from bot.llm.accumulate import StreamAccumulator
from bot.llm.types import Completion
from tests.fakes.http_fake import FakeHTTPServer
from tests.fakes.llm_scripts import make_recorded_stream
from tests.fakes.llm_server import FakeLLMServer

GROUP = "engine"
MODEL = "gpt-4o-mini"


@dataclass(frozen=True, slots=True)
class Assembled:
    """What a consumer ends up with; compared across clients so neither skips work."""

    text_chars: int
    reasoning_chars: int
    arguments: str


def summarise(done: Completion) -> Assembled:
    arguments = done.tool_calls[0].arguments if done.tool_calls else ""
    return Assembled(len(done.text), len(done.reasoning), arguments)


def open_sdk(server: FakeHTTPServer) -> Any:
    import openai

    return openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)


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


INGEST = Ingest(
    group=GROUP,
    label="SSE",
    unit="chunks",
    decode_name="SSE decode+accumulate, no I/O",
    decode_note="SSEDecoder + json.loads + StreamAccumulator on the same bytes, in memory",
    model=MODEL,
    record=make_recorded_stream,
    fake=FakeLLMServer,
    decoder=StreamAccumulator,
    summarise=summarise,
    sdk="openai",
    open_sdk=open_sdk,
    consume_sdk=consume_sdk,
)


def sdk_available() -> bool:
    return INGEST.sdk_available()


async def run(quick: bool) -> list[Result]:
    return await measure(INGEST, quick)
