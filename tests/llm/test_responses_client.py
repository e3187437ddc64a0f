"""The real `LLMClient` speaking `ResponsesProtocol` to the strict fake Responses API over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.errors import (
    LLMBadRequestError,
    LLMBadResponseError,
    LLMConnectionError,
    LLMRateLimitedError,
    LLMServerError,
)
from bot.llm.client import LLMClient
from bot.llm.protocols.base import CallOptions
from bot.llm.protocols.responses import ResponsesProtocol
from bot.llm.types import (
    Artefacts,
    ChatMessage,
    ChatRequest,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
    ToolSpec,
    Usage,
)
from tests.fakes.llm_scripts import cut_after, http_error, raw_sse
from tests.fakes.responses_scripts import (
    ResponseStream,
    responses_error_event,
    responses_failed,
    responses_incomplete,
    responses_text,
    responses_tool_calls,
)
from tests.fakes.responses_server import FakeResponsesServer
from tests.llm.conftest import MakeClient, client_maker, last

SPEC = ToolSpec("echo", "Echo the arguments.", {"type": "object", "properties": {}})


@pytest.fixture
async def server() -> AsyncIterator[FakeResponsesServer]:
    async with FakeResponsesServer(api_key="sk-test-key") as fake:
        yield fake


@pytest.fixture
def make_client(server: FakeResponsesServer, http: aiohttp.ClientSession) -> MakeClient:
    return client_maker(
        http, server.base_url, seed=5, api_key="sk-test-key", protocol=ResponsesProtocol()
    )


@pytest.fixture
def client(make_client: MakeClient) -> LLMClient:
    return make_client()


def request(text: str = "hi", model: str = "o4-mini", **options: Any) -> ChatRequest:
    return ChatRequest(
        model, [ChatMessage("system", "Be brief."), ChatMessage("user", text)], **options
    )


async def collect(
    client: LLMClient, req: ChatRequest | None = None, options: CallOptions | None = None
) -> list[StreamEvent]:
    stream = (
        client.stream(req or request(), options) if options else client.stream(req or request())
    )
    return [event async for event in stream]


async def test_client_streams_a_reasoning_answer_over_http(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(responses_text("Hello there", reasoning=["Plan.", "Check."], model="o4-mini"))

    events = await collect(client)

    done = last(events)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello there"
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Plan.\n\nCheck."
    assert done.text == "Hello there" and done.finish_reason == "stop"
    assert done.model == "o4-mini" and len(done.artefacts["reasoning_items"]) == 1
    sent = server.responses_requests[0]
    assert sent.rejected is None and sent.path == "/v1/responses"
    assert sent.headers["Authorization"] == "Bearer sk-test-key"
    assert sent.json["instructions"] == "Be brief."
    assert sent.json["include"] == ["reasoning.encrypted_content"]


async def test_client_usage_is_billed_once_each(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(responses_text("hi"))

    done = last(await collect(client))

    # 1,024 cached within the 1,200 input tokens, 200 reasoning within the 300 output tokens.
    assert done.usage == Usage(
        prompt_tokens=1200, completion_tokens=300, cached_tokens=1024, reasoning_tokens=200
    )
    assert done.usage.total_tokens == 1500


async def test_client_tool_round_trip_passes_the_strict_checks(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(
        responses_tool_calls([("echo", {"a": 1}), ("echo", {"b": 2})], text="Checking."),
        responses_text("Both echoed.", reasoning="Done.", model="o4-mini"),
    )
    first = request(tools=[SPEC])

    events = await collect(client, first)
    done = last(events)
    history = [
        *first.messages,
        ChatMessage(
            "assistant",
            done.text,
            done.tool_calls,
            artefacts=Artefacts("openai/o4-mini", done.artefacts),
        ),
        *(ChatMessage("tool", f"result {c.id}", tool_call_id=c.id) for c in done.tool_calls),
    ]
    answer = last(await collect(client, ChatRequest("o4-mini", history, tools=[SPEC])))

    assert [e for e in events if isinstance(e, ToolCallProgress)] == [
        ToolCallProgress(0, "echo"),
        ToolCallProgress(1, "echo"),
    ]
    assert answer.text == "Both echoed."
    assert [r.rejected for r in server.responses_requests] == [None, None]
    items = server.responses_requests[1].json["input"]
    assert [i.get("type", i.get("role")) for i in items] == [
        "user",
        "reasoning",
        "assistant",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]


async def test_client_without_the_reasoning_item_is_refused_like_openai(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(responses_tool_calls([("echo", {"a": 1})]))
    done = last(await collect(client, request(tools=[SPEC])))
    call = done.tool_calls[0]
    history = [
        ChatMessage("user", "hi"),
        ChatMessage("assistant", None, done.tool_calls),  # its reasoning dropped
        ChatMessage("tool", "result", tool_call_id=call.id),
    ]

    with pytest.raises(LLMBadRequestError) as caught:
        await collect(client, ChatRequest("o4-mini", history, tools=[SPEC]))

    assert caught.value.status == 400
    assert "of type 'function_call' was provided without its required 'reasoning' item" in (
        caught.value.detail or ""
    )


async def test_client_failed_response_before_output_is_retried(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(responses_failed(code="server_error"), responses_text("Recovered."))

    done = last(await collect(client))

    assert done.text == "Recovered." and len(server.responses_requests) == 2


async def test_client_failed_response_after_output_is_a_partial_server_error(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(responses_failed(code="server_error", message="boom", after_text="Half an"))
    seen: list[StreamEvent] = []

    with pytest.raises(LLMServerError) as caught:
        async for event in client.stream(request()):
            seen.append(event)

    assert caught.value.partial and "boom" in (caught.value.detail or "")
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == "Half an"
    assert len(server.responses_requests) == 1


async def test_client_error_event_is_classified_and_retried_before_output(
    server: FakeResponsesServer, make_client: MakeClient
) -> None:
    server.enqueue(
        responses_error_event(code="rate_limit_exceeded", message="Rate limit reached."),
        responses_text("Fine now."),
        responses_error_event(code="rate_limit_exceeded", message="Rate limit reached."),
    )

    done = last(await collect(make_client()))
    with pytest.raises(LLMRateLimitedError) as caught:
        await collect(make_client(max_retries=0))

    assert done.text == "Fine now."
    assert not caught.value.partial and "Rate limit reached." in (caught.value.detail or "")


async def test_client_error_event_after_output_is_partial(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(responses_error_event(code="server_error", after_text="Some text"))

    with pytest.raises(LLMServerError) as caught:
        await collect(client)

    assert caught.value.partial and len(server.responses_requests) == 1


async def test_client_incomplete_response_ends_with_length(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(responses_incomplete("The answer was cu", reason="max_output_tokens"))

    done = last(await collect(client))

    assert done.finish_reason == "length" and done.text == "The answer was cu"
    assert done.usage is not None and done.usage.completion_tokens == 300


async def test_client_stream_cut_before_completed_after_output_is_a_partial_error(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    script = responses_text("A fairly long answer that will be cut.", chunk_size=4)
    server.enqueue(cut_after(len(script.writes) - 3, script))

    with pytest.raises(LLMConnectionError) as caught:
        await collect(client)

    assert caught.value.partial and len(server.responses_requests) == 1


async def test_client_stream_ending_without_its_terminal_event_is_an_error(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    stream = ResponseStream("o4-mini")
    stream.message("No ending.")
    server.enqueue(stream.scripted())  # closes cleanly, but never says response.completed

    with pytest.raises(LLMConnectionError) as caught:
        await collect(client)

    assert caught.value.partial
    assert "without its end event" in (caught.value.detail or "")


async def test_client_stream_cut_before_any_output_is_retried(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    script = responses_text("Second try.")
    server.enqueue(cut_after(2, script), responses_text("Second try."))

    done = last(await collect(client))

    assert done.text == "Second try." and len(server.responses_requests) == 2


async def test_client_malformed_event_is_a_bad_response(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    event = b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", '
    event += b'"item_id": "msg_never_added", "output_index": 0, "delta": "x"}\n\n'
    server.enqueue(raw_sse(event))

    with pytest.raises(LLMBadResponseError) as caught:
        await collect(client)

    assert "never added" in (caught.value.detail or "")


async def test_client_maps_the_fakes_400_to_a_bad_request(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    # A non-reasoning model asked for encrypted reasoning through its params.
    options = CallOptions(params={"include": ["reasoning.encrypted_content"]})

    with pytest.raises(LLMBadRequestError) as caught:
        await collect(client, request(model="gpt-4.1-mini"), options)

    assert caught.value.status == 400
    assert "Encrypted content is not supported with this model." in (caught.value.detail or "")
    assert server.responses_requests[0].rejected is not None


async def test_client_retries_an_http_429_before_streaming(
    server: FakeResponsesServer, client: LLMClient
) -> None:
    server.enqueue(http_error(429, retry_after=0, code="rate_limit_exceeded"), responses_text("ok"))

    done = last(await collect(client))

    assert done.text == "ok" and len(server.responses_requests) == 2


async def test_client_lists_the_fakes_models(client: LLMClient) -> None:
    models = await client.list_models()

    assert [m.id for m in models] == ["gpt-4.1-mini", "o4-mini", "gpt-5-mini"]
