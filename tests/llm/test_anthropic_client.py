"""The real `LLMClient` speaking Anthropic's Messages API to the strict fake, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from bot.errors import (
    LLMAuthError,
    LLMBadRequestError,
    LLMBadResponseError,
    LLMConnectionError,
    LLMError,
    LLMModelNotFoundError,
    LLMRateLimitedError,
    LLMServerError,
)
from bot.llm.client import LLMClient
from bot.llm.protocols.anthropic import AnthropicProtocol
from bot.llm.protocols.base import CallOptions
from bot.llm.types import (
    ChatMessage,
    ChatRequest,
    Completion,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)
from tests.fakes.anthropic_scripts import (
    anthropic_error_event,
    anthropic_http_error,
    anthropic_reply,
    anthropic_text_reply,
    event,
    signature_for,
    text,
    thinking,
)
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.llm_scripts import Scripted, cut_after, raw_sse
from tests.llm.conftest import MakeClient, client_maker, last

KEY = "sk-ant-api03-secretsecretsecret"
MODEL = "claude-sonnet-4-5-20250929"


@pytest.fixture
async def anthropic() -> AsyncIterator[FakeAnthropicServer]:
    async with FakeAnthropicServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def make_client(anthropic: FakeAnthropicServer, http: aiohttp.ClientSession) -> MakeClient:
    return client_maker(http, anthropic.base_url, seed=5, api_key=KEY, protocol=AnthropicProtocol())


def request(text_: str = "hi") -> ChatRequest:
    return ChatRequest(MODEL, [ChatMessage("system", "Be brief."), ChatMessage("user", text_)])


async def collect(client: LLMClient, options: CallOptions | None = None) -> list[StreamEvent]:
    return [e async for e in client.stream(request(), options or CallOptions())]


async def complete(client: LLMClient) -> Completion:
    return last(await collect(client))


def rechunked(reply: Scripted, every: int) -> Scripted:
    """The same bytes written in pieces of `every` bytes: events straddle reads."""
    return raw_sse(b"".join(reply.writes), every=every)


async def test_anthropic_client_streams_thinking_and_text_over_http(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    reply = anthropic_text_reply(
        "Four. ✓ 漢字", thinking_text="2+2 is 4, said carefully.", chunk_size=2, cache_read=64
    )
    anthropic.enqueue(rechunked(reply, 7))
    events = await collect(make_client())
    done = events[-1]
    assert isinstance(done, Completion)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Four. ✓ 漢字"
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == (
        "2+2 is 4, said carefully."
    )
    assert done.artefacts == {
        "thinking_blocks": [
            {
                "type": "thinking",
                "thinking": "2+2 is 4, said carefully.",
                "signature": signature_for("2+2 is 4, said carefully."),
            }
        ]
    }
    assert done.usage is not None and done.usage.prompt_tokens == 25 + 64
    sent = anthropic.messages_requests[0]
    assert sent.path == "/v1/messages" and sent.rejected is None
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.json["system"] == "Be brief."


async def test_anthropic_client_params_reach_the_body(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    anthropic.enqueue(anthropic_text_reply("ok", thinking_text="hm"))
    params = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    events = await collect(make_client(), CallOptions(params=params))
    assert isinstance(events[-1], Completion) and events[-1].text == "ok"
    assert anthropic.messages_requests[0].json["thinking"] == params["thinking"]


async def test_anthropic_client_error_event_before_output_is_retried(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    # message_start and ping only, then `overloaded_error`: nothing was shown yet.
    anthropic.enqueue(
        anthropic_error_event(anthropic_text_reply("never"), after=2),
        anthropic_text_reply("second try"),
    )
    assert (await complete(make_client())).text == "second try"
    assert len(anthropic.messages_requests) == 2


async def test_anthropic_client_error_event_after_output_is_partial(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    anthropic.enqueue(anthropic_error_event(anthropic_text_reply("x" * 40, chunk_size=4), after=6))
    seen: list[StreamEvent] = []
    with pytest.raises(LLMServerError) as caught:
        async for item in make_client().stream(request()):
            seen.append(item)
    assert caught.value.partial and caught.value.retryable
    assert "overloaded_error" in (caught.value.detail or "")
    assert any(isinstance(e, TextDelta) for e in seen)
    assert not any(isinstance(e, Completion) for e in seen)
    assert len(anthropic.messages_requests) == 1


async def test_anthropic_client_stream_without_message_stop_is_an_error(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    reply = anthropic_text_reply("cut short", chunk_size=3)
    # A clean end of the body, but message_stop never came: the answer may be incomplete.
    anthropic.enqueue(replace(reply, writes=reply.writes[:-1]))
    seen: list[StreamEvent] = []
    with pytest.raises(LLMConnectionError) as caught:
        async for item in make_client(max_retries=0).stream(request()):
            seen.append(item)
    assert caught.value.partial
    assert "without its end event" in (caught.value.detail or "")
    assert not any(isinstance(e, Completion) for e in seen)


async def test_anthropic_client_connection_cut_mid_stream_is_partial(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    anthropic.enqueue(cut_after(6, anthropic_text_reply("a long answer", chunk_size=2)))
    with pytest.raises(LLMConnectionError) as caught:
        await collect(make_client())
    assert caught.value.partial
    assert len(anthropic.messages_requests) == 1  # output was shown: never restarted


async def test_anthropic_client_malformed_block_is_bad_response(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"model": MODEL, "usage": {"input_tokens": 1}}},
        {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": "x"}},
        {"type": "message_stop"},
    ]
    anthropic.enqueue(Scripted(writes=[event(e) for e in events]))
    with pytest.raises(LLMBadResponseError) as caught:
        await collect(make_client())
    assert "block 3, which never started" in (caught.value.detail or "")
    assert len(anthropic.messages_requests) == 1  # not retryable


@pytest.mark.parametrize(
    ("type_", "message", "error"),
    [
        ("overloaded_error", "Overloaded", LLMServerError),
        ("api_error", "Internal server error", LLMServerError),
        (
            "rate_limit_error",
            "Number of request tokens has exceeded your rate limit",
            LLMRateLimitedError,
        ),
        ("authentication_error", "invalid x-api-key", LLMAuthError),
        (
            "invalid_request_error",
            "messages: text content blocks must be non-empty",
            LLMBadRequestError,
        ),
    ],
)
async def test_anthropic_client_error_event_types_are_classified(
    anthropic: FakeAnthropicServer,
    make_client: MakeClient,
    type_: str,
    message: str,
    error: type[LLMError],
) -> None:
    anthropic.enqueue(
        anthropic_error_event(anthropic_text_reply("x"), after=1, type_=type_, message=message)
    )
    with pytest.raises(LLMError) as caught:
        await collect(make_client(max_retries=0))
    assert type(caught.value) is error


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (anthropic_http_error(529, type_="overloaded_error", message="Overloaded"), LLMServerError),
        (
            anthropic_http_error(429, type_="rate_limit_error", message="slow down", retry_after=0),
            LLMRateLimitedError,
        ),
        (
            anthropic_http_error(401, type_="authentication_error", message="invalid x-api-key"),
            LLMAuthError,
        ),
        (
            anthropic_http_error(404, type_="not_found_error", message="model: claude-nope"),
            LLMModelNotFoundError,
        ),
        (
            anthropic_http_error(400, message="max_tokens: Field required"),
            LLMBadRequestError,
        ),
    ],
    ids=["529", "429", "401", "unknown-model", "400"],
)
async def test_anthropic_client_http_errors_are_typed_and_not_leaky(
    anthropic: FakeAnthropicServer,
    make_client: MakeClient,
    reply: Scripted,
    error: type[LLMError],
) -> None:
    anthropic.enqueue(reply)
    with pytest.raises(LLMError) as caught:
        await collect(make_client(max_retries=0))
    assert type(caught.value) is error
    assert KEY not in str(caught.value) and KEY not in (caught.value.detail or "")


async def test_anthropic_client_retries_overloaded_529(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    anthropic.enqueue(
        anthropic_http_error(529, type_="overloaded_error", message="Overloaded"),
        anthropic_text_reply("fine"),
    )
    assert (await complete(make_client())).text == "fine"
    assert len(anthropic.messages_requests) == 2


async def test_anthropic_client_wrong_key_is_auth_error(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    with pytest.raises(LLMAuthError):
        await collect(make_client(api_key="sk-ant-wrong-0000000"))
    with pytest.raises(LLMAuthError):
        await collect(make_client(api_key=""))
    assert len(anthropic.messages_requests) == 2  # never retried
    assert "invalid x-api-key" in (anthropic.messages_requests[0].rejected or "")
    assert "x-api-key header is required" in (anthropic.messages_requests[1].rejected or "")


async def test_anthropic_client_lists_models(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    models = await make_client().list_models()
    assert [m.id for m in models] == anthropic.models
    assert models[0].extra["type"] == "model"


async def test_anthropic_client_usage_from_cumulative_message_delta(
    anthropic: FakeAnthropicServer, make_client: MakeClient
) -> None:
    anthropic.enqueue(
        anthropic_reply(
            [thinking("x" * 20), text("done")],
            input_tokens=10,
            cache_read=1000,
            cache_write=200,
            output_tokens=30,
            delta_usage="cumulative",
        )
    )
    done = await complete(make_client())
    assert done.usage == Usage(
        prompt_tokens=1210, completion_tokens=30, cached_tokens=1000, cache_write_tokens=200
    )
