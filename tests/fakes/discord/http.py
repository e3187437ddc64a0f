"""REST plumbing shared by the route modules: request/response records, routing table, the wrapper
that authenticates, rate-limits, logs and renders Discord's exact JSON responses.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.discord import payloads
from tests.fakes.discord.faults import Faults, error_body
from tests.fakes.discord.models import JSON, CallRecord
from tests.fakes.discord.ratelimit import RateLimiter, ResourceLimited
from tests.fakes.discord.state import World
from tests.fakes.discord.validation import DiscordHTTPError

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"


@dataclass(frozen=True)
class Req:
    method: str
    match: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[JSON] = field(default_factory=list)

    def int_param(self, name: str) -> int:
        try:
            return int(self.match[name])
        except ValueError:
            raise DiscordHTTPError(
                400, 50035, "Invalid Form Body", {name: {"_errors": [_snowflake_error()]}}
            ) from None

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")

    @property
    def json(self) -> JSON:
        return self.body if isinstance(self.body, dict) else {}


def _snowflake_error() -> JSON:
    return {"code": "NUMBER_TYPE_COERCE", "message": "Value is not snowflake."}


# (status, JSON body or None for an empty 204)
Resp = tuple[int, Any]
Handler = Callable[[Req], Awaitable[Resp]]


@dataclass
class RestConfig:
    token: str
    interaction_deadline: float = 3.0
    token_lifetime: float = 15 * 60.0
    public_base: str = ""
    # Whether the application is approved for the Message Content intent: REST reads of other
    # people's messages are blanked without it, whatever the gateway session asked for.
    message_content: bool = True


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # without the /api/v10 prefix
    handler: Handler
    limit: str = "default"  # RateLimitConfig attribute
    major: str | None = None  # path parameter(s) that scope the bucket, "+"-joined
    auth: bool = True
    global_exempt: bool = False


def json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    if body is None:
        return web.Response(status=204, headers=headers)
    # Exactly "application/json": discord.py compares the header for equality before parsing.
    out = dict(headers)
    out["Content-Type"] = "application/json"
    return web.Response(status=status, body=json.dumps(body).encode(), headers=out)


class Router:
    def __init__(
        self,
        world: World,
        limiter: RateLimiter,
        config: RestConfig,
        calls: list[CallRecord],
        faults: Faults | None = None,
    ) -> None:
        self.world = world
        self.limiter = limiter
        self.config = config
        self.calls = calls
        self.faults = faults or Faults()

    def install(self, app: web.Application, routes: list[Route]) -> None:
        for route in routes:
            app.router.add_route(route.method, API_PREFIX + route.template, self._wrap(route))
        app.router.add_route("*", "/{tail:.*}", self._unknown)

    def _record(
        self,
        request: web.Request,
        route: str,
        status: int,
        body: Any,
        bucket: str | None,
        held: float = 0.0,
    ) -> None:
        known = bucket is not None
        self.calls.append(
            CallRecord(
                time.monotonic(),
                request.method,
                request.path,
                route,
                status,
                body,
                bucket,
                known,
                held,
            )
        )
        self.world.notify()

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        # Loud on purpose: an unexpected call means the fake (or the bot) is missing something.
        log.warning("fake discord: unknown route %s %s", request.method, request.path_qs)
        body = await _read_json(request)
        self._record(request, request.path, 404, body, None)
        # Rate-limit headers on every response, unknown routes included.
        decision = self.limiter.check(
            f"{request.method} (unknown)", "default", "default:unknown", "", global_exempt=True
        )
        return json_response(404, payloads.error(0, "404: Not Found"), decision.headers)

    def _wrap(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            body, files = await _read_body(request)
            match = dict(request.match_info)
            route_key = f"{route.method} {route.template}"
            bucket = f"{route.limit}:{route_key}" if route.limit == "default" else route.limit
            major = "+".join(match.get(p, "") for p in (route.major or "").split("+") if p)
            decision = self.limiter.check(
                route_key, route.limit, bucket, major, global_exempt=route.global_exempt
            )
            if decision.refused is not None:
                log.info("fake discord: 429 (%s) for %s", decision.scope, route_key)
                self._record(request, route.template, 429, body, bucket)
                return json_response(429, decision.refused, decision.headers)
            if route.auth and request.headers.get("Authorization") != f"Bot {self.config.token}":
                self._record(request, route.template, 401, body, bucket)
                unauthorized = payloads.error(0, "401: Unauthorized")
                return json_response(401, unauthorized, decision.headers)
            # Faults act after the limiter counted the call (Discord's edge counts it too) and
            # before the handler, so a failed call changes nothing.
            failing = self.faults.failing(route.method, route.template, request.path)
            if failing is not None and failing.status is not None:
                self._record(request, route.template, failing.status, body, bucket)
                return json_response(failing.status, error_body(failing.status), decision.headers)
            delayed = self.faults.delaying(route.method, route.template, request.path)
            held = 0.0
            if delayed is not None and not delayed.apply_first:
                held = await self.faults.hold(delayed.delay)
            req = Req(route.method, match, dict(request.query), body, files)
            try:
                status, out = await route.handler(req)
            except DiscordHTTPError as exc:
                status, out = exc.status, exc.body
            except ResourceLimited as exc:
                log.info("fake discord: 429 (shared) for %s", route_key)
                refused = self.limiter.refuse_resource(route_key, decision.headers, exc.retry_after)
                self._record(request, route.template, 429, body, bucket)
                return json_response(429, refused.refused, refused.headers)
            if delayed is not None and delayed.apply_first:
                held = await self.faults.hold(delayed.delay)
            recorded = status if out is not None else 204
            self._record(request, route.template, recorded, body, bucket, held)
            return json_response(status, out, decision.headers)

        return handler


async def _read_json(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    raw = await request.read()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


async def _read_body(request: web.Request) -> tuple[Any, list[JSON]]:
    """JSON body, or for multipart uploads the `payload_json` part plus file metadata."""
    if not request.content_type.startswith("multipart/"):
        return await _read_json(request), []
    body: Any = None
    files: list[JSON] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read()
        if part.name == "payload_json":
            body = json.loads(data)
        else:
            # `data` stays in memory (never serialised) so tests can read uploads back.
            files.append(
                {
                    "name": part.name,
                    "filename": part.filename,
                    "size": len(data),
                    "data": bytes(data),
                }
            )
    return body, files
