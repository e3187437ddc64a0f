"""LLMClient failures: typed errors, retries before the first event only, timeouts."""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import time

import aiohttp
import pytest

from bot.errors import (
    LLMAuthError,
    LLMBadRequestError,
    LLMBadResponseError,
    LLMConnectionError,
    LLMContextTooLongError,
    LLMError,
    LLMModelNotFoundError,
    LLMQuotaExhaustedError,
    LLMRateLimitedError,
    LLMServerError,
    LLMTimeoutError,
)
from bot.llm.client import LLMClient
from bot.llm.http_errors import retry_after_seconds
from bot.llm.types import ChatMessage, ChatRequest, Completion, ToolCall
from tests.fakes.llm_scripts import cut_after, http_error, raw_sse, stall, text_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.llm.conftest import MakeClient, collect, complete, request

KEY = "sk-secret-abcdef123456"


async def test_client_retries_429_honouring_retry_after(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(http_error(429, retry_after=0, code="rate_limit_exceeded"), text_reply("ok"))
    assert (await complete(client)).text == "ok"
    assert len(llm.chat_requests) == 2


async def test_client_retry_after_is_capped(llm: FakeLLMServer, make_client: MakeClient) -> None:
    client = make_client(backoff_max=0.05)
    llm.enqueue(http_error(429, retry_after=3600), text_reply("ok"))
    started = time.monotonic()
    assert (await complete(client)).text == "ok"
    assert time.monotonic() - started < 30  # not an hour: capped at backoff_max


def test_client_retry_after_parses_seconds_dates_and_ms() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    assert retry_after_seconds({"Retry-After": "2.5"}, now) == 2.5
    assert retry_after_seconds({"Retry-After": date}, now) == pytest.approx(7, abs=1)
    assert retry_after_seconds({"retry-after-ms": "1500"}, now) == 1.5
    assert retry_after_seconds({"Retry-After": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


async def test_client_5xx_retries_then_raises(llm: FakeLLMServer, make_client: MakeClient) -> None:
    client = make_client(max_retries=2)
    llm.enqueue(*[http_error(503, message="overloaded", type_="server_error")] * 3)
    with pytest.raises(LLMServerError) as caught:
        await collect(client)
    assert caught.value.status == 503
    assert not caught.value.partial
    assert len(llm.chat_requests) == 3


async def test_client_cut_before_first_event_is_retried(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(cut_after(0, text_reply("lost")), text_reply("kept"))
    assert (await complete(client)).text == "kept"
    assert len(llm.chat_requests) == 2


async def test_client_cut_after_first_token_is_partial_not_retried(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(cut_after(3, text_reply("abcdefghijklmnop", chunk_size=2)), text_reply("never"))
    texts: list[str] = []
    with pytest.raises(LLMConnectionError) as caught:
        async for event in client.stream(request()):
            texts.append(getattr(event, "text", ""))
    assert caught.value.partial
    assert "".join(texts) == "abcd"
    assert len(llm.chat_requests) == 1


async def test_client_connection_refused_is_retried_then_raised(
    http: aiohttp.ClientSession,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LLMClient(http, f"http://127.0.0.1:{port}/v1", max_retries=1, backoff_base=0.001)
    with pytest.raises(LLMConnectionError) as caught:
        await collect(client)
    assert caught.value.retryable and not caught.value.partial


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (http_error(401, code="invalid_api_key", message=f"Incorrect API key {KEY}"), LLMAuthError),
        (
            http_error(429, code="insufficient_quota", type_="insufficient_quota"),
            LLMQuotaExhaustedError,
        ),
        (http_error(402, message="Insufficient credits"), LLMQuotaExhaustedError),
        (
            http_error(
                400,
                code="context_length_exceeded",
                message="This model's maximum context length is 8192 tokens",
            ),
            LLMContextTooLongError,
        ),
        (
            http_error(404, code="model_not_found", message="The model `x` does not exist"),
            LLMModelNotFoundError,
        ),
        (http_error(404, message="No endpoints found for nope/nope."), LLMModelNotFoundError),
        (http_error(400, message="temperature must be <= 2"), LLMBadRequestError),
        (http_error(502, body=b"<html>Bad Gateway</html>"), LLMServerError),
    ],
    ids=["auth", "quota", "402", "context", "model", "openrouter-model", "bad", "html"],
)
async def test_client_http_errors_are_typed_and_not_leaky(
    llm: FakeLLMServer, make_client: MakeClient, reply: object, error: type[LLMError]
) -> None:
    client = make_client(api_key=KEY, max_retries=0)
    llm.enqueue(reply)
    with pytest.raises(error) as caught:
        await collect(client)
    exc = caught.value
    assert type(exc) is error
    for text in (exc.user_message, exc.detail or "", str(exc)):
        assert KEY not in text
        assert "<html>" not in text
    assert len(llm.chat_requests) == 1


async def test_client_non_retryable_errors_are_not_retried(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(http_error(401), text_reply("never"))
    with pytest.raises(LLMAuthError):
        await collect(client)
    assert len(llm.chat_requests) == 1


async def test_client_invalid_json_event_is_bad_response(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(raw_sse("data: {not json\n\n"))
    with pytest.raises(LLMBadResponseError):
        await collect(client)


async def test_client_empty_stream_is_bad_response(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(raw_sse(": only a comment\n\n"))
    with pytest.raises(LLMBadResponseError):
        await collect(client)


async def test_client_silent_endpoint_is_given_up_once_not_per_retry(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    # Headers, then nothing: the first-byte budget is spent once, not once per retry (a
    # member would otherwise watch "Working…" for minutes).
    client = make_client(first_byte_timeout=0.2, connect_timeout=0.1, max_retries=3)
    llm.enqueue(stall(text_reply("late"), after=0, seconds=30), text_reply("fast"))
    with pytest.raises(LLMTimeoutError):
        await collect(client)
    assert len(llm.chat_requests) == 1


async def test_client_answer_from_the_endpoint_restarts_the_silence_budget(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    client = make_client(first_byte_timeout=0.3, connect_timeout=0.1, max_retries=2)
    llm.enqueue(http_error(503), text_reply("fast"))
    assert (await complete(client)).text == "fast"
    assert len(llm.chat_requests) == 2


async def test_client_first_byte_timeout_on_headers(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    client = make_client(first_byte_timeout=0.2, connect_timeout=0.2, max_retries=0)
    reply = text_reply("late")
    reply.headers_delay = 30
    llm.enqueue(reply)
    with pytest.raises(LLMTimeoutError):
        await collect(client)


async def test_client_idle_timeout_after_output_is_partial(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    client = make_client(idle_timeout=0.2)
    llm.enqueue(stall(text_reply("abcdef", chunk_size=2), after=3, seconds=30))
    seen: list[object] = []
    with pytest.raises(LLMTimeoutError) as caught:
        async for event in client.stream(request()):
            seen.append(event)
    assert caught.value.partial
    assert seen and not isinstance(seen[-1], Completion)
    assert len(llm.chat_requests) == 1


async def test_client_keepalive_comments_keep_idle_timer_alive(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    client = make_client(idle_timeout=0.3)
    body = ": PROCESSING\n\n" * 6 + 'data: {"choices":[{"delta":{"content":"ok"}}]}\n\n'
    llm.enqueue(raw_sse(body, every=len(": PROCESSING\n\n"), delay=0.1))
    assert (await complete(client)).text == "ok"


async def test_client_error_detail_redacts_key_from_stream_error(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    client = make_client(api_key=KEY, max_retries=0)
    llm.enqueue(raw_sse(f'data: {{"error": {{"message": "bad key {KEY}", "code": 401}}}}\n\n'))
    with pytest.raises(LLMAuthError) as caught:
        await collect(client)
    assert KEY not in (caught.value.detail or "")
    assert "***" in (caught.value.detail or "")


async def test_client_list_models_errors_are_typed(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    llm.api_key = "right"
    with pytest.raises(LLMAuthError):
        await make_client(api_key="wrong").list_models()
    assert [m.id for m in await make_client(api_key="right").list_models()] == llm.models


async def test_client_rate_limited_error_carries_retry_after(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    llm.enqueue(http_error(429, retry_after=12))
    with pytest.raises(LLMRateLimitedError) as caught:
        await collect(make_client(max_retries=0))
    assert caught.value.retry_after == 12


async def test_client_connect_timeout(http: aiohttp.ClientSession) -> None:
    # A listener whose accept queue is full drops new SYNs, so connecting hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
            client = LLMClient(
                http, f"http://127.0.0.1:{port}/v1", connect_timeout=0.2, max_retries=0
            )
            with pytest.raises(LLMTimeoutError) as caught:
                await collect(client)
        finally:
            for filler in fillers:
                filler.close()
    assert caught.value.detail == "timed out waiting for connect"


async def test_client_strict_server_rejection_is_bad_request(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    broken = ChatRequest(
        model="fake-model",
        messages=[
            ChatMessage("user", "1+1?"),
            ChatMessage("assistant", None, (ToolCall("c1", "calculator", "{}"),)),
            ChatMessage("user", "well?"),
        ],
    )
    with pytest.raises(LLMBadRequestError) as caught:
        await collect(client, broken)
    assert caught.value.status == 400
    assert len(llm.chat_requests) == 1


async def test_client_retry_after_http_date_in_past_retries_at_once(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    llm.enqueue(http_error(429, retry_after=past), text_reply("ok"))
    assert (await complete(client)).text == "ok"
    assert len(llm.chat_requests) == 2


async def test_client_gemini_list_shaped_error_keeps_its_message(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    body = (
        b'[{"error": {"code": 400, "message": "Function call is missing a thought_signature'
        b' in functionCall parts.", "status": "INVALID_ARGUMENT"}}]'
    )
    llm.enqueue(http_error(400, body=body))
    with pytest.raises(LLMBadRequestError) as caught:
        await complete(client)
    assert "missing a thought_signature" in (caught.value.detail or "")


async def test_client_openrouter_upstream_error_reaches_the_log_detail(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    raw = json.dumps(
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "Invalid `signature` in `thinking` block",
            },
        }
    )
    body = (
        '{"error": {"message": "Provider returned error", "code": 400, "metadata": {"raw": '
        + json.dumps(raw)
        + ', "provider_name": "Anthropic"}}}'
    ).encode()
    llm.enqueue(http_error(400, body=body))
    with pytest.raises(LLMBadRequestError) as caught:
        await complete(client)
    assert "Invalid `signature` in `thinking` block" in (caught.value.detail or "")
