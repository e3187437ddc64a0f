"""A shared REST proxy's own 429s are waited out, not taken for a Cloudflare ban.

Behind a proxy that several processes share (nirn-proxy on `DISCORD_API_BASE`), the proxy
itself answers 429 when the bot's shared global limit is reached. Its 429 has Discord's JSON
body (`retry_after`) and a `Retry-After` header but no `Via` header, and discord.py takes any
429 without `Via` for a Cloudflare ban: it raises at once instead of waiting, so a message
would fail to send or an interaction would go unanswered.

`wait_out_proxy_429s` is an aiohttp client middleware on discord.py's own session (REST and
interaction webhooks both use it): a 429 without `Via` whose body is JSON with a
`retry_after` of at most `MAX_WAIT_S` is slept out and the same request sent again, so
discord.py never sees it. A 429 refused is a request not applied, so sending it again cannot
post anything twice. Anything else passes through untouched: Discord's own 429s (with `Via`)
to discord.py's limiter, and a real ban (HTML, or a very long wait) to discord.py, which raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from aiohttp import ClientHandlerType, ClientRequest, ClientResponse

log = logging.getLogger(__name__)

# Longer waits are not a proxy pacing us: let discord.py raise them.
MAX_WAIT_S = 60.0
# Attempts per request before discord.py gets the 429 (and raises it).
MAX_ATTEMPTS = 10


async def proxy_retry_after(response: ClientResponse) -> float | None:
    """Seconds to wait for a Via-less 429 from a proxy; None when it is not one."""
    if response.status != 429 or response.headers.get("Via"):
        return None
    try:
        body: Any = json.loads(await response.read())
    except ValueError:
        return None  # not JSON: Cloudflare's HTML ban page
    retry_after = body.get("retry_after") if isinstance(body, dict) else None
    if retry_after is None:
        retry_after = response.headers.get("Retry-After")
    try:
        seconds = float(retry_after)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds <= MAX_WAIT_S else None


async def wait_out_proxy_429s(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
    response = await handler(request)
    for _ in range(MAX_ATTEMPTS):
        wait = await proxy_retry_after(response)
        if wait is None:
            return response
        log.warning(
            "REST proxy rate limited %s %s: sending again in %.2f s",
            request.method,
            request.url.path,
            wait,
        )
        response.release()
        await asyncio.sleep(wait)
        response = await handler(request)
    return response


def install(session: aiohttp.ClientSession) -> None:
    """Add the middleware to a session discord.py already made (it takes no middlewares of
    its own). `_middlewares` is aiohttp's; tests/discord_fake checks it still works."""
    current: tuple[Any, ...] = tuple(session._middlewares)
    if wait_out_proxy_429s not in current:
        session._middlewares = (*current, wait_out_proxy_429s)
