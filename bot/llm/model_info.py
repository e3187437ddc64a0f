"""What an endpoint says about a model's context window, asked over HTTP.

`discover_context_tokens` asks, in order, stopping at the first usable answer:

1. `GET {base_url}/models`, the entry whose id is the model: vLLM's `max_model_len`,
   OpenRouter's `context_length` (or its `top_provider.context_length`), and the
   `context_window` / `context_length` / `max_context_length` other servers use;
2. llama.cpp's `GET {root}/props`: `default_generation_settings.n_ctx`, the window the server
   was started with (its `/models` only tells the trained length, which is not it);
3. Ollama's `POST {root}/api/show`: a `num_ctx` in `parameters` (what the server really runs
   with), else `model_info["<arch>.context_length"]`.

`root` is `base_url` without a trailing `/v1`. Nothing here raises: a refused connection, a
timeout, a 404, a non-JSON body or an unexpected shape moves on to the next question, and
when every one fails the answer is None (the caller then uses its configured default).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

__all__ = ["discover_context_tokens"]

log = logging.getLogger(__name__)

# Keys of a `/models` entry that hold the context window, most specific first.
_ENTRY_KEYS = ("max_model_len", "context_length", "context_window", "max_context_length")


async def discover_context_tokens(
    session: aiohttp.ClientSession,
    base_url: str,
    api_key: str,
    model: str,
    *,
    # A per-request bound handed to aiohttp, not a deadline for the whole discovery.
    timeout: float = 5.0,  # noqa: ASYNC109
) -> int | None:
    """The model's context window in tokens as the endpoint reports it, or None.

    `timeout` bounds each request separately (at most three are made)."""
    base = base_url.rstrip("/")
    root = base.removesuffix("/v1")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limit = aiohttp.ClientTimeout(total=timeout)

    async def ask(method: str, url: str, body: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer, or None when there is no usable one."""
        try:
            async with session.request(
                method, url, json=body, headers=headers, timeout=limit
            ) as response:
                if response.status >= 300:
                    log.debug("context window: %s %s answered %d", method, url, response.status)
                    return None
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            log.debug("context window: %s %s failed (%s)", method, url, type(exc).__name__)
            return None

    found = _from_models(await ask("GET", f"{base}/models"), model)
    source = "/models"
    if found is None:
        found = _from_props(await ask("GET", f"{root}/props"))
        source = "/props"
    if found is None:
        found = _from_show(await ask("POST", f"{root}/api/show", {"model": model}))
        source = "/api/show"
    if found is None:
        log.debug("context window of %s: the endpoint %s does not say", model, base)
    else:
        log.debug("context window of %s: %d tokens (from %s)", model, found, source)
    return found


def _tokens(value: Any) -> int | None:
    """A positive whole number of tokens (servers sometimes send it as a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _same_model(entry_id: Any, model: str) -> bool:
    # Ollama lists "llama3:latest" for a model configured as "llama3".
    return isinstance(entry_id, str) and (
        entry_id == model or entry_id == f"{model}:latest" or f"{entry_id}:latest" == model
    )


def _from_models(document: Any, model: str) -> int | None:
    entries = document.get("data", document.get("models")) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if not isinstance(entry, dict) or not _same_model(entry.get("id"), model):
            continue
        for key in _ENTRY_KEYS:
            found = _tokens(entry.get(key))
            if found is not None:
                return found
        top = entry.get("top_provider")
        if isinstance(top, dict):
            return _tokens(top.get("context_length"))
        return None
    return None


def _from_props(document: Any) -> int | None:
    if not isinstance(document, dict):
        return None
    settings = document.get("default_generation_settings")
    if not isinstance(settings, dict):
        return None
    return _tokens(settings.get("n_ctx"))


def _from_show(document: Any) -> int | None:
    if not isinstance(document, dict):
        return None
    parameters = document.get("parameters")
    if isinstance(parameters, str):
        for line in parameters.splitlines():
            name, _, value = line.strip().partition(" ")
            if name == "num_ctx":
                found = _tokens(value)
                if found is not None:
                    return found
    info = document.get("model_info")
    if not isinstance(info, dict):
        return None
    architecture = info.get("general.architecture")
    if isinstance(architecture, str):
        found = _tokens(info.get(f"{architecture}.context_length"))
        if found is not None:
            return found
    # An architecture name missing or unexpected: any one `*.context_length` will do.
    for key, value in info.items():
        if isinstance(key, str) and key.endswith(".context_length"):
            found = _tokens(value)
            if found is not None:
                return found
    return None
