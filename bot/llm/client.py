"""The streaming LLM client: HTTP, timeouts, retries and typed errors, for every protocol.

`LLMClient.stream(request)` posts to the protocol's endpoint (`{base_url}/chat/completions`
for chat completions, `/responses`, `/messages`; see `bot.llm.protocols`) over the caller's
aiohttp session, decodes SSE with `SSEDecoder`, assembles with the protocol's decoder, and
yields `ReasoningDelta` / `TextDelta` / `ToolCallProgress` / `TextWasReasoning` events and
one final `Completion`.

- Timeouts are enforced with asyncio, per phase: connect (also given to aiohttp), first byte
  (request sent → first body bytes) and idle (between reads; SSE comments count as activity).
  An endpoint that stays silent gets the first-byte timeout once in all, retries included.
- Connection errors, timeouts, 429 and 5xx — also an error object inside the stream — are
  retried with exponential backoff and jitter, honouring `Retry-After` / `retry-after-ms`
  (capped at `backoff_max`), but only while nothing was yielded. Afterwards the error is raised
  with `partial=True`: an answer the member already saw is never silently restarted.
- Every failure is an `LLMError` subclass whose `user_message` is safe to show; `detail` holds
  at most a short, sanitized provider message (the API key is never in it). Provider error
  answers are mapped by `bot.llm.http_errors`.
- Closing the generator early (`aclose()`, cancellation) closes the HTTP response.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import aiohttp

from bot.errors import (
    LLMBadResponseError,
    LLMConnectionError,
    LLMError,
    LLMRateLimitedError,
    LLMTimeoutError,
)
from bot.llm.http_errors import error_from_response, error_from_stream, retry_after_seconds
from bot.llm.protocols.base import (
    DEFAULT_OPTIONS,
    CallOptions,
    ProviderStreamError,
    StreamDecoder,
    WireProtocol,
)
from bot.llm.protocols.chat_completions import ChatCompletionsProtocol
from bot.llm.sse import SSEDecoder
from bot.llm.types import ChatRequest, ModelInfo, StreamEvent

__all__ = ["LLMClient"]

log = logging.getLogger(__name__)

_MAX_ERROR_BODY = 64 * 1024
_DONE = b"[DONE]"
EMPTY_STREAM = (
    "The model endpoint sent back an empty answer (no data at all). Local servers do this "
    "when the conversation no longer fits their context window: try a shorter message or a "
    "new conversation."
)


class LLMClient:
    """One provider endpoint. The aiohttp session belongs to the caller."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str = "",
        *,
        protocol: WireProtocol | None = None,
        connect_timeout: float = 10,
        first_byte_timeout: float = 120,
        idle_timeout: float = 90,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        rng: random.Random | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._connect_timeout = connect_timeout
        self._first_byte_timeout = first_byte_timeout
        self._idle_timeout = idle_timeout
        self._max_retries = max(0, max_retries)
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._rng = rng or random.Random()
        # aiohttp enforces the connect phase; the asyncio deadlines below cover the rest.
        self._http_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout
        )
        self._protocol: WireProtocol = protocol or ChatCompletionsProtocol()
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            **self._protocol.headers(api_key),
        }

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def protocol(self) -> WireProtocol:
        return self._protocol

    async def stream(
        self, request: ChatRequest, options: CallOptions = DEFAULT_OPTIONS
    ) -> AsyncIterator[StreamEvent]:
        """Stream one completion. Raises `LLMError` subclasses (`partial` after output)."""
        protocol = self._protocol
        body = json.dumps(protocol.body(request, options), ensure_ascii=False).encode()
        url = protocol.endpoint(self._base_url)
        attempt = 0
        yielded = False
        loop = asyncio.get_running_loop()
        # A silent endpoint (no headers, no byte) gets `first_byte_timeout` in all, retries
        # included: a member must not watch "Working…" for minutes. Any answer from the
        # endpoint (an error status, a dropped connection) starts the silence clock again.
        silent_until = loop.time() + self._connect_timeout + self._first_byte_timeout
        while True:
            try:
                started = loop.time()
                headers_by = min(
                    started + self._connect_timeout + self._first_byte_timeout, silent_until
                )
                response = await self._send("POST", url, body, headers_by)
                # The first body bytes are due `first_byte_timeout` after sending; only a slow
                # connect (headers past that point) extends it up to the headers deadline.
                first_by = min(started + self._first_byte_timeout, silent_until)
                if loop.time() >= first_by:
                    first_by = headers_by
                finished = False
                try:
                    async with contextlib.aclosing(
                        self._events(
                            response, request.model, first_by, protocol.decoder(request, options)
                        )
                    ) as events:
                        async for event in events:
                            yielded = True
                            yield event
                    finished = True
                finally:
                    # An unfinished body cannot go back to the pool: close the connection.
                    if finished:
                        response.release()
                    else:
                        response.close()
                return
            except LLMError as exc:
                if yielded:
                    exc.partial = True
                    raise
                if not exc.retryable or attempt >= self._max_retries:
                    raise
                delay = self._backoff(attempt, exc)
                if not isinstance(exc, LLMTimeoutError):
                    silent_until = (
                        loop.time() + delay + (self._connect_timeout + self._first_byte_timeout)
                    )
                elif loop.time() + delay + self._connect_timeout >= silent_until:
                    # Silent for (nearly) the whole budget: say so now rather than start an
                    # attempt that could only wait for what is left of it.
                    raise
                log.warning(
                    "LLM call failed (%s), retry %d/%d in %.2fs",
                    exc.detail or type(exc).__name__,
                    attempt + 1,
                    self._max_retries,
                    delay,
                )
                await asyncio.sleep(delay)
                attempt += 1

    async def list_models(self) -> list[ModelInfo]:
        """`GET {base_url}/models`, retried like a stream that has not started."""
        url = f"{self._base_url}/models"
        attempt = 0
        while True:
            try:
                deadline = asyncio.get_running_loop().time() + (
                    self._connect_timeout + self._first_byte_timeout
                )
                response = await self._send("GET", url, None, deadline)
                try:
                    raw = await self._read_body(response, self._first_byte_timeout)
                finally:
                    response.release()
                return _parse_models(raw)
            except LLMError as exc:
                if not exc.retryable or attempt >= self._max_retries:
                    raise
                await asyncio.sleep(self._backoff(attempt, exc))
                attempt += 1

    # --- one attempt ----------------------------------------------------------------------

    async def _send(
        self, method: str, url: str, body: bytes | None, deadline: float
    ) -> aiohttp.ClientResponse:
        """Send and wait for headers; non-2xx statuses become typed errors."""
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._session.request(
                    method, url, data=body, headers=self._headers, timeout=self._http_timeout
                )
        except TimeoutError as exc:  # also aiohttp's connect timeouts
            phase = "connect" if isinstance(exc, aiohttp.ConnectionTimeoutError) else "headers"
            raise LLMTimeoutError(detail=f"timed out waiting for {phase}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise LLMConnectionError(detail=f"{method} failed: {type(exc).__name__}") from exc
        if response.status < 300:
            return response
        try:
            raw = await self._read_body(response, self._idle_timeout, limit=_MAX_ERROR_BODY)
        except LLMError:
            raw = b""
        finally:
            response.release()
        retry_after = retry_after_seconds(response.headers, time.time())
        raise error_from_response(
            response.status,
            response.headers.get("Content-Type", ""),
            raw,
            self._api_key,
            retry_after,
        )

    async def _read_body(
        self, response: aiohttp.ClientResponse, seconds: float, limit: int | None = None
    ) -> bytes:
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(seconds):
                while limit is None or size < limit:
                    data = await response.content.readany()
                    if not data:
                        break
                    parts.append(data)
                    size += len(data)
        except TimeoutError as exc:
            raise LLMTimeoutError(detail="timed out reading the response body") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise LLMConnectionError(detail=f"body read failed: {type(exc).__name__}") from exc
        return b"".join(parts)

    async def _events(
        self,
        response: aiohttp.ClientResponse,
        model: str,
        first_deadline: float,
        decoder: StreamDecoder,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Decode one 2xx response into events, ending with the `Completion`."""
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            # Some servers ignore `stream` (or report errors with 200): one JSON document.
            raw = await self._read_body(response, self._first_byte_timeout)
            document = self._whole_json(raw)
            try:
                events = decoder.feed(document)
            except ProviderStreamError as exc:
                raise error_from_stream(exc.error, self._api_key) from None
            for event in events:
                yield event
            yield decoder.finish()
            return
        if content_type.startswith("text/html"):
            raise LLMBadResponseError(
                "The model endpoint answered with a web page instead of a model response; "
                "an admin must check its base URL.",
                detail="HTML page with a 2xx status",
            )
        sse = SSEDecoder()
        content = response.content
        loads = json.loads
        idle = self._idle_timeout
        first = True
        done = False
        while not done:
            try:
                if first:
                    async with asyncio.timeout_at(first_deadline):
                        data = await content.readany()
                    first = False
                else:
                    async with asyncio.timeout(idle):
                        data = await content.readany()
            except TimeoutError as exc:
                phase = "first byte" if first else f"idle {idle:g}s"
                raise LLMTimeoutError(detail=f"stream timed out ({phase})") from exc
            except (aiohttp.ClientError, OSError) as exc:
                raise LLMConnectionError(
                    detail=f"stream cut after {decoder.chunks} chunks: {type(exc).__name__}"
                ) from exc
            payloads = sse.feed(data) if data else sse.flush()
            for payload in payloads:
                if payload == _DONE:
                    done = True
                    break
                try:
                    chunk = loads(payload)
                except ValueError as exc:
                    raise LLMBadResponseError(detail="a stream event is not valid JSON") from exc
                if chunk.__class__ is not dict:
                    raise LLMBadResponseError(detail="a stream event is not a JSON object")
                try:
                    events = decoder.feed(chunk)
                except ProviderStreamError as exc:
                    raise error_from_stream(exc.error, self._api_key) from None
                for event in events:
                    yield event
            if not data:
                break
        if not done and not decoder.ended:
            if not decoder.chunks:
                raise LLMBadResponseError(EMPTY_STREAM, detail="the stream ended without any event")
            if self._protocol.requires_end_event:
                raise LLMConnectionError(
                    detail=f"stream ended after {decoder.chunks} events without its end event"
                )
            log.warning("LLM stream for %s ended without [DONE] or finish_reason", model)
        yield decoder.finish()

    def _whole_json(self, raw: bytes) -> dict[str, Any]:
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise LLMBadResponseError(detail="the response is not valid JSON") from exc
        if not isinstance(document, dict):
            raise LLMBadResponseError(detail="the response is not a JSON object")
        if document.get("error"):
            raise error_from_stream(document["error"], self._api_key)
        if self._protocol.name != "openai":
            return document  # the protocol's decoder judges its own whole-response shape
        # A non-streamed completion: present its message as the delta of a single chunk.
        choices = document.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = dict(choices[0])
            choice["delta"] = choice.pop("message", None) or choice.get("delta")
            document = {**document, "choices": [choice]}
        return document

    def _backoff(self, attempt: int, exc: LLMError) -> float:
        if isinstance(exc, LLMRateLimitedError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self._backoff_max)
        ceiling = min(self._backoff_max, self._backoff_base * (2.0**attempt))
        # "Equal jitter": at least half the exponential step, so retries still spread out.
        return ceiling / 2 + self._rng.random() * ceiling / 2


def _parse_models(raw: bytes) -> list[ModelInfo]:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise LLMBadResponseError(detail="the model list is not valid JSON") from exc
    entries: Any = document
    if isinstance(document, dict):
        entries = document.get("data", document.get("models"))
    if not isinstance(entries, list):
        raise LLMBadResponseError(detail="the model list has no `data` array")
    models: list[ModelInfo] = []
    for entry in entries:
        if isinstance(entry, str):
            models.append(ModelInfo(id=entry))
        elif isinstance(entry, dict) and isinstance(entry.get("id"), str):
            owner = entry.get("owned_by")
            extra = {k: v for k, v in entry.items() if k not in ("id", "owned_by", "object")}
            models.append(
                ModelInfo(
                    id=entry["id"], owned_by=owner if isinstance(owner, str) else None, extra=extra
                )
            )
    return models
