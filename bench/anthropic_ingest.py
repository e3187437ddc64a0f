"""Anthropic stream ingestion: our `LLMClient` with `AnthropicProtocol` versus the `anthropic`
SDK on the same recorded Messages API stream.

One recorded stream (`make_anthropic_recorded_stream`: a signed thinking block, text, a tool
call whose input arrives as JSON fragments, usage with cache reads and writes; every event
with its `event:` line, as Anthropic frames it) served by `FakeAnthropicServer`. Both clients
assemble text, thinking, the signature, the tool arguments and usage; the SDK through
`messages.create(stream=True)` (its raw events; its `messages.stream()` helper also re-parses
the partial tool JSON on every fragment, which would flatter us). How it is measured
(interleaved runs, medians, the I/O-free number for our SSE framing, JSON parsing and decoder
alone) is `bench.ingest`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.ingest import Ingest, measure
from bench.results import Result
from bot.llm.protocols.anthropic import AnthropicProtocol
from bot.llm.protocols.anthropic_stream import AnthropicDecoder
from bot.llm.types import Completion
from tests.fakes.anthropic_scripts import make_anthropic_recorded_stream
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.http_fake import FakeHTTPServer

GROUP = "protocols"
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


def summarise(done: Completion) -> Assembled:
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


def open_sdk(server: FakeHTTPServer) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(base_url=server.root_url, api_key=KEY, max_retries=0)


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


INGEST = Ingest(
    group=GROUP,
    label="Anthropic",
    unit="events",
    decode_name="Anthropic decode, no I/O",
    decode_note="SSEDecoder + json.loads + AnthropicDecoder on the same bytes, in memory",
    model=MODEL,
    record=make_anthropic_recorded_stream,
    fake=FakeAnthropicServer,
    # Not strict: the request checks still run, but remembering the thinking it streams
    # would make the server re-parse the whole recording on every request.
    fake_options={"strict": False, "api_key": KEY},
    decoder=AnthropicDecoder,
    summarise=summarise,
    sdk="anthropic",
    open_sdk=open_sdk,
    consume_sdk=consume_sdk,
    protocol=AnthropicProtocol(),
    api_key=KEY,
)


def sdk_available() -> bool:
    return INGEST.sdk_available()


async def run(quick: bool) -> list[Result]:
    return await measure(INGEST, quick)
