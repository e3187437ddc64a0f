"""The fake Anthropic server rejects what Anthropic rejects, in Anthropic's words and shape."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.fakes.anthropic_scripts import (
    anthropic_reply,
    assemble,
    make_anthropic_recorded_stream,
    parse_events,
    redacted,
    signature_for,
    text,
    thinking,
    tool_use,
)
from tests.fakes.anthropic_server import (
    FakeAnthropicServer,
    IssuedThinking,
    validate_messages_request,
)

MODEL = "claude-sonnet-4-5-20250929"
THINKING = {"type": "enabled", "budget_tokens": 2048}


def user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks) if blocks else "hi"}


def assistant(*blocks: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def said(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def call(call_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "echo", "input": {}}


def result(call_id: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": "ok"}


def signed(thought: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": thought, "signature": signature_for(thought)}


def request(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 4096, "stream": True, "messages": list(messages), **extra}


def issued_with(*blocks: dict[str, Any]) -> IssuedThinking:
    issued = IssuedThinking()
    issued.record(list(blocks))
    return issued


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": MODEL, "stream": True, "messages": [user()]}, "max_tokens: Field required"),
        (
            request({"role": "system", "content": "be nice"}, user()),
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (
            request(assistant(said("hello")), user()),
            'messages: first message must use the "user" role',
        ),
        (
            request(user(), user()),
            'messages: roles must alternate between "user" and "assistant", but found '
            'multiple "user" roles in a row',
        ),
        (request(user(said(""))), "messages: text content blocks must be non-empty"),
        (
            request(user(said(" \n"))),
            "messages: text content blocks must contain non-whitespace text",
        ),
        (
            request(user(), assistant(call("toolu_1")), user(said("what?"))),
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately "
            "after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` "
            "block in the next message.",
        ),
        (
            request(user(), assistant(call("toolu_1")), user(said("first"), result("toolu_1"))),
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately "
            "after: toolu_1.",
        ),
        (
            request(user(), assistant(call("toolu_1"))),
            "messages.1: `tool_use` ids were found without `tool_result` blocks",
        ),
        (
            request(user(), assistant(said("no calls")), user(result("toolu_9"))),
            "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
            "toolu_9. Each `tool_result` block must have a corresponding `tool_use` block in "
            "the previous message.",
        ),
        (
            request(
                user(),
                assistant(call("toolu_1")),
                user(result("toolu_1")),
                thinking=THINKING,
            ),
            "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
            "`tool_use`. When `thinking` is enabled, a final `assistant` message must start "
            "with a thinking block",
        ),
        (
            request(
                user(),
                assistant(said("a"), signed("late"), call("toolu_1")),
                user(result("toolu_1")),
            ),
            "messages.1.content.0: If an assistant message contains any thinking blocks, the "
            "first block must be thinking or redacted_thinking. Found text.",
        ),
        (
            request(user(), assistant(said("x")), user(), max_tokens=1024, thinking=THINKING),
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        ),
        (
            request(user(), temperature=0.2, thinking=THINKING),
            "`temperature` may only be set to 1 when thinking is enabled",
        ),
    ],
    ids=[
        "no-max-tokens",
        "system-role",
        "first-not-user",
        "not-alternating",
        "empty-text",
        "whitespace-text",
        "tool-use-without-result",
        "result-not-first",
        "tool-use-last",
        "result-without-tool-use",
        "thinking-missing",
        "thinking-not-first",
        "budget-over-max",
        "temperature-with-thinking",
    ],
)
def test_anthropic_fake_rejects_like_anthropic(body: dict[str, Any], message: str) -> None:
    problem = validate_messages_request(body)
    assert problem is not None and problem.startswith(message)


def test_anthropic_fake_accepts_a_valid_tool_turn_with_thinking() -> None:
    blocks = [signed("plan"), {"type": "redacted_thinking", "data": "EmwKAhgB"}]
    issued = issued_with(*blocks, call("toolu_1"))
    body = request(
        user(),
        assistant(*blocks, said("checking"), call("toolu_1")),
        user(result("toolu_1"), said("also this")),
        thinking=THINKING,
    )
    assert validate_messages_request(body, issued) is None


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (
            [{**signed("plan"), "thinking": "plan, edited"}],
            "messages.1.content.0: Invalid `signature` in `thinking` block",
        ),
        (
            [{**signed("plan"), "signature": signature_for("other")}],
            "messages.1.content.0: Invalid `signature` in `thinking` block",
        ),
        (
            [signed("plan"), {"type": "redacted_thinking", "data": "forged"}],
            "messages.1.content.1: Invalid `data` in `redacted_thinking` block",
        ),
        ([signed("plan")], "messages.1: the thinking blocks streamed with `tool_use` toolu_1"),
    ],
    ids=["text-changed", "signature-changed", "redacted-forged", "one-block-dropped"],
)
def test_anthropic_fake_rejects_changed_or_missing_thinking(
    sent: list[dict[str, Any]], message: str
) -> None:
    issued = issued_with(
        signed("plan"), {"type": "redacted_thinking", "data": "EmwK"}, call("toolu_1")
    )
    body = request(
        user(), assistant(*sent, call("toolu_1")), user(result("toolu_1")), thinking=THINKING
    )
    problem = validate_messages_request(body, issued)
    assert problem is not None and problem.startswith(message)


def test_anthropic_fake_only_checks_the_current_tool_turn_for_thinking() -> None:
    # An earlier turn's tool use without thinking (e.g. thinking was off then) is fine.
    body = request(
        user(),
        assistant(call("toolu_old")),
        user(result("toolu_old")),
        assistant(said("answered")),
        user(said("new question")),
        thinking=THINKING,
    )
    assert validate_messages_request(body, IssuedThinking()) is None


def test_anthropic_scripts_assemble_what_was_streamed() -> None:
    reply = anthropic_reply(
        [thinking("t1"), redacted("R"), text("hello"), tool_use("echo", {"x": 1}, "toolu_7")]
    )
    blocks = assemble(parse_events(b"".join(reply.writes)))
    assert blocks == [
        signed("t1"),
        {"type": "redacted_thinking", "data": "R"},
        {"type": "text", "text": "hello"},
        {"type": "tool_use", "id": "toolu_7", "name": "echo", "input": {"x": 1}},
    ]


def test_anthropic_recorded_stream_has_about_n_events() -> None:
    events = parse_events(make_anthropic_recorded_stream(2000))
    assert abs(len(events) - 2000) <= 2
    kinds = {e["type"] for e in events}
    assert kinds == {
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
    deltas = {e["delta"]["type"] for e in events if e["type"] == "content_block_delta"}
    assert deltas == {"thinking_delta", "signature_delta", "text_delta", "input_json_delta"}


async def test_anthropic_fake_http_headers_and_error_shape() -> None:
    async with (
        FakeAnthropicServer(api_key="sk-ant-k") as server,
        aiohttp.ClientSession() as session,
    ):
        url = f"{server.base_url}/messages"
        body = json.dumps(request(user())).encode()
        cases = [
            ({}, 401, "authentication_error", "x-api-key header is required"),
            ({"x-api-key": "nope"}, 401, "authentication_error", "invalid x-api-key"),
            (
                {"x-api-key": "sk-ant-k"},
                400,
                "invalid_request_error",
                "anthropic-version: header is required",
            ),
        ]
        for headers, status, kind, message in cases:
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.json()
            assert response.status == status
            assert answer["type"] == "error"
            assert answer["error"] == {"type": kind, "message": message}
            assert answer["request_id"].startswith("req_")
        headers = {"x-api-key": "sk-ant-k", "anthropic-version": "2023-06-01"}
        async with session.post(url, data=body, headers=headers) as response:
            streamed = await response.read()
        assert response.status == 200
        assert streamed.startswith(b"event: message_start\ndata: {")
        assert [r.rejected is None for r in server.messages_requests] == [False] * 3 + [True]
