"""Provider error answers → typed, safe `LLMError`s.

Owns the mapping used by `bot.llm.client`: a non-2xx HTTP answer (`error_from_response`) or an
`{"error": ...}` object inside a stream (`error_from_stream`) becomes the `bot.errors` subclass
that says what went wrong (auth, quota, context too long, unknown model, rate limit, server…),
judged from the status, the error `type`/`code` and, as providers word things differently, the
message text. `detail` keeps at most a short provider message with secrets (the API key, anything
key-shaped, bearer tokens) and control characters removed. `retry_after_seconds` reads
`retry-after-ms` / `Retry-After` (seconds or an HTTP date).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
from collections.abc import Mapping
from typing import Any

from bot.errors import (
    LLMAuthError,
    LLMBadRequestError,
    LLMBadResponseError,
    LLMContextTooLongError,
    LLMError,
    LLMModelNotFoundError,
    LLMQuotaExhaustedError,
    LLMRateLimitedError,
    LLMServerError,
    LLMTimeoutError,
)

__all__ = ["error_from_response", "error_from_stream", "retry_after_seconds"]


_CONTEXT = re.compile(
    r"context.length|context window|maximum context|too many tokens|prompt is too long"
    r"|reduce the length|input is too long|exceeds the (?:model'?s? )?(?:max|context)",
    re.IGNORECASE,
)
_MODEL_MISSING = re.compile(
    r"model\b.{0,80}\b(?:not found|does not exist|doesn't exist|not exist|is not supported"
    r"|not available|unknown)|no endpoints found|unknown model|invalid model"
    # Anthropic's 404 `not_found_error` for an unknown model says only "model: <name>".
    r"|^model: \S+\s*$",
    re.IGNORECASE,
)
_SECRETS = re.compile(r"\b(?:sk|rk|pk|key|gsk|xai)-[A-Za-z0-9_\-]{6,}|Bearer\s+\S+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MAX_DETAIL = 300


def _sanitize(text: str, api_key: str) -> str:
    if api_key:
        text = text.replace(api_key, "***")
    text = _CONTROL.sub(" ", _SECRETS.sub("***", text)).strip()
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """`retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None when absent."""
    millis = headers.get("retry-after-ms")
    if millis:
        with contextlib.suppress(ValueError):
            return max(float(millis) / 1000, 0.0)
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def _fields(error: Any) -> tuple[str, str, Any]:
    """(message, type, code) of an OpenAI-style error value, tolerant of other shapes:
    Gemini's compatible API answers with a one-element list, OpenRouter wraps the upstream
    provider's error as a string in `metadata.raw`."""
    if isinstance(error, list) and error:
        return _fields(error[0])
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or error.get("error") or ""
        if isinstance(message, dict):
            return _fields(message)
        kind = error.get("type") or error.get("status") or ""
        metadata = error.get("metadata")
        raw = metadata.get("raw") if isinstance(metadata, dict) else None
        if isinstance(raw, str) and raw:
            upstream, upstream_kind, _ = _fields(_maybe_json(raw))
            message = f"{message}: {upstream or raw}" if message else upstream or raw
            kind = kind or upstream_kind
        return str(message), str(kind), error.get("code")
    if isinstance(error, str):
        return error, "", None
    return "", "", None


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _classify(
    status: int | None, message: str, kind: str, code: Any, retry_after: float | None, detail: str
) -> LLMError:
    code_text = "" if code is None else str(code).lower()
    names = f"{kind} {code_text}".lower()
    if status is None and isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        status = code  # OpenRouter puts the HTTP status in `error.code` mid-stream
    if "insufficient_quota" in names or status == 402 or "credit balance" in message.lower():
        return LLMQuotaExhaustedError(detail=detail, status=status)
    if status in (401, 403) or "authentication" in names or "invalid_api_key" in names:
        return LLMAuthError(detail=detail, status=status)
    if "context_length" in names or _CONTEXT.search(message):
        return LLMContextTooLongError(detail=detail, status=status)
    if "model_not_found" in names or _MODEL_MISSING.search(message):
        return LLMModelNotFoundError(detail=detail, status=status)
    if status == 429 or "rate_limit" in names:
        return LLMRateLimitedError(detail=detail, status=status, retry_after=retry_after)
    if status == 408:
        return LLMTimeoutError(detail=detail, status=status)
    if status == 404:
        return LLMBadRequestError(
            "The model endpoint URL looks wrong; an admin must check LLM_BASE_URL.",
            detail=detail,
            status=status,
        )
    # Anthropic mid-stream: `api_error` is its internal server error, `invalid_request_error`
    # a rejected request (no status comes with an error event).
    if (
        (status is not None and status >= 500)
        or "server_error" in names
        or "overloaded" in names
        or "api_error" in names
    ):
        return LLMServerError(detail=detail, status=status)
    if (status is not None and status >= 400) or "invalid_request" in names:
        return LLMBadRequestError(detail=detail, status=status)
    return LLMBadResponseError(detail=detail, status=status)


def error_from_response(
    status: int, content_type: str, raw: bytes, api_key: str, retry_after: float | None
) -> LLMError:
    """A non-2xx HTTP answer → typed error, with a short sanitized provider message."""
    message = kind = ""
    code: Any = None
    try:
        document = json.loads(raw) if raw else None
    except ValueError:
        document = None
    if isinstance(document, list):
        message, kind, code = _fields(document)
    elif isinstance(document, dict):
        message, kind, code = _fields(document.get("error") or document)
    elif raw and "html" not in content_type and not raw.lstrip().startswith(b"<"):
        # A proxy's plain-text answer ("Bad Gateway"): keep a short line of it.
        message = raw[:200].decode("utf-8", "replace")
    text = _sanitize(message, api_key)
    detail = f"HTTP {status}" + (f" {kind}/{code}" if kind or code is not None else "")
    return _classify(status, text, kind, code, retry_after, f"{detail}: {text}" if text else detail)


def error_from_stream(error: Any, api_key: str) -> LLMError:
    """An `{"error": {...}}` object inside a 200 stream → typed error."""
    message, kind, code = _fields(error)
    text = _sanitize(message, api_key)
    detail = f"error in stream {kind}/{code}: {text}"
    return _classify(None, text, kind, code, None, detail)
