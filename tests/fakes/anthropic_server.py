"""A fake Anthropic Messages API on 127.0.0.1, strict like the real one, for tests and benchmarks.

    async with FakeAnthropicServer() as server:     # binds 127.0.0.1 on a free port
        client = LLMClient(session, server.base_url, protocol=AnthropicProtocol())
        server.enqueue(anthropic_text_reply("hi"), anthropic_http_error(529, ...))
        server.messages_requests[0].json["messages"]   # every request is recorded

Routes: `POST /v1/messages` answers with the next queued `Scripted` (FIFO), else with
`responder(body)` when set, else with a short text stream. `GET /v1/models` lists `models` in
Anthropic's shape (`data`, `has_more`, `first_id`, `last_id`). Both require the
`anthropic-version` header and, with `api_key` set, the right `x-api-key` (or bearer token;
401 `authentication_error` otherwise, as Anthropic answers).

With `strict` (the default) each request is validated like Anthropic does and answered 400
`invalid_request_error` in Anthropic's error shape (`{"type": "error", "error": {...}}`),
worded like Anthropic's own messages, when: `model` or `max_tokens` is missing, a message
has a role other than user/assistant (a `system` message inside `messages`), the first
message is not a user message or two messages of one role follow each other, a content list
is empty, a text block is empty or only whitespace, a `tool_use` block has no `tool_result`
with its id at the start of the very next user message, a `tool_result` answers no
`tool_use` of the previous assistant message, a `tool_result` holds anything but text, image
(base64 of a type Anthropic reads), search result or document blocks, a text block's
`citations` lack what Anthropic
sent with them, or thinking blocks are misplaced. The server web search tool
(`{"type": "web_search_20250305", "name": "web_search"}`) is accepted beside custom tools.
The server also remembers every thinking signature and redacted block it streamed: a thinking block
whose text or signature changed, or a redacted block it never sent, is rejected ("Invalid
`signature` in `thinking` block"); with thinking enabled, an assistant message of the
current tool-use turn must start with its thinking blocks, and must carry exactly the ones
this server streamed with its tool calls (the rules: `tests.fakes.anthropic_rules`). Rejected
requests are recorded too (`RecordedRequest.rejected` holds the reason). The builders live in
`tests.fakes.anthropic_scripts`. No pytest imports here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

from tests.fakes.anthropic_rules import IssuedThinking, validate_messages_request
from tests.fakes.anthropic_scripts import (
    anthropic_error_body,
    anthropic_text_reply,
    assemble,
    parse_events,
)
from tests.fakes.http_fake import FakeHTTPServer, RecordedRequest, Scripted, json_error

__all__ = ["FakeAnthropicServer", "IssuedThinking", "validate_messages_request"]


@dataclass
class FakeAnthropicServer(FakeHTTPServer):
    models: list[str] = field(
        default_factory=lambda: ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
    )
    issued: IssuedThinking = field(default_factory=IssuedThinking)

    # Anthropic takes request bodies of up to 32 MB: aiohttp's 1 MiB default would refuse
    # long histories the real API accepts.
    _client_max_size: ClassVar[int] = 64 * 1024 * 1024

    @property
    def messages_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/messages")]

    # --- handlers -------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/messages", self._messages)

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Anthropic's answers to a missing or wrong key or a missing version header."""
        if self.api_key is not None:
            # `x-api-key` is the documented header; recent official SDKs send the key as a
            # bearer token instead, which Anthropic accepts too.
            key = request.headers.get("x-api-key")
            bearer = request.headers.get("Authorization", "")
            if key is None and bearer.startswith("Bearer "):
                key = bearer[len("Bearer ") :]
            if key != self.api_key:
                message = "x-api-key header is required" if key is None else "invalid x-api-key"
                return _error(401, "authentication_error", message)
        if not request.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    def _model_list(self) -> dict[str, Any]:
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-09-29T00:00:00Z"}
            for m in self.models
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body, record = await self._record_body(request)
        refused = self._refusal(request)
        if refused is not None:
            record.rejected = refused.text
            return refused
        if self.strict:
            problem = validate_messages_request(body, self.issued)
            if problem is not None:
                record.rejected = problem
                return _error(400, "invalid_request_error", problem)
        return await self._answer(request, body)

    def _default_script(self, body: Any) -> Scripted:
        return anthropic_text_reply()

    def _issue(self, script: Scripted) -> None:
        """Note the thinking this answer streams, so the next requests can be checked."""
        if not (self.strict and script.status < 300 and script.writes):
            return
        try:
            blocks = assemble(parse_events(b"".join(script.writes)))
        except (ValueError, TypeError, KeyError):
            return  # a deliberately broken stream (a client test) signs nothing
        self.issued.record(blocks)


def _error(status: int, type_: str, message: str) -> web.Response:
    return json_error(status, anthropic_error_body(type_, message))
