"""What the DeepSeek and OpenRouter flavours of the fake endpoint refuse, with which body, when
the reasoning text of a tool-calling turn comes back missing or changed (DeepSeek's
`reasoning_content`, OpenRouter's `reasoning_details` in front of Anthropic), when they let it
go, and that the generic flavour and a non-strict fake check no reasoning state at all.
Gemini's thought signatures are in `test_provider_fakes_gemini_checks.py`."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.errors import LLMBadRequestError
from bot.llm.types import ChatMessage, ChatRequest, Completion
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_rules import DEEPSEEK_MISSING_REASONING, Flavour
from tests.fakes.provider_scripts import DEEPSEEK_MODEL, OPENROUTER_MODEL, deepseek_reply
from tests.llm.conftest import complete
from tests.llm.provider_fake_helpers import (
    USER,
    calls_message,
    issue,
    make_client,
    openrouter_step,
    post,
    results,
)

REASONING_ON = {"reasoning": {"enabled": True}}


# --- DeepSeek -------------------------------------------------------------------------------


async def deepseek_step(http: aiohttp.ClientSession, server: FakeLLMServer) -> Completion:
    script = deepseek_reply(reasoning="I should compute.", tool_calls=[("calculator", {"e": 1})])
    return await issue(http, server, script, DEEPSEEK_MODEL)


async def test_provider_deepseek_accepts_reasoning_passed_back(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["deepseek"]
    step = await deepseek_step(http, server)
    back = calls_message(step, reasoning_content="I should compute.")
    status, _ = await post(http, server, {"model": DEEPSEEK_MODEL, "messages": [USER, back]})
    assert status == 400  # the tool result is missing: the generic checks still apply
    messages = [USER, back, *results(step)]
    status, _ = await post(http, server, {"model": DEEPSEEK_MODEL, "messages": messages})
    assert status == 200
    # A later turn: assistant text without tool calls may come back without its reasoning.
    later = [*messages, {"role": "assistant", "content": "42"}, USER, back, *results(step)]
    status, _ = await post(http, server, {"model": DEEPSEEK_MODEL, "messages": later})
    assert status == 200


@pytest.mark.parametrize("earlier_turn", [False, True])
async def test_provider_deepseek_rejects_missing_reasoning(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession, earlier_turn: bool
) -> None:
    server = servers["deepseek"]
    step = await deepseek_step(http, server)
    messages = [USER, calls_message(step), *results(step)]
    if earlier_turn:  # DeepSeek wants it back in every later request, not only this turn
        messages += [{"role": "assistant", "content": "42"}, USER]
    status, body = await post(http, server, {"model": DEEPSEEK_MODEL, "messages": messages})
    assert status == 400
    assert body == {
        "error": {
            "message": DEEPSEEK_MISSING_REASONING,
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_request_error",
        }
    }
    assert server.requests[-1].rejected == DEEPSEEK_MISSING_REASONING


async def test_provider_deepseek_rejects_changed_reasoning(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["deepseek"]
    step = await deepseek_step(http, server)
    back = calls_message(step, reasoning_content="I should compute!")
    status, body = await post(
        http, server, {"model": DEEPSEEK_MODEL, "messages": [USER, back, *results(step)]}
    )
    assert status == 400 and body["error"]["message"] == DEEPSEEK_MISSING_REASONING
    assert server.requests[-1].rejected == f"reasoning_content of {step.tool_calls[0].id} changed"


@pytest.mark.parametrize(
    "request_fields",
    [{"thinking": {"type": "disabled"}}, {"model": "deepseek-chat"}],
    ids=["thinking-disabled", "non-thinking-model"],
)
async def test_provider_deepseek_without_thinking_accepts_missing_reasoning(
    servers: dict[Flavour, FakeLLMServer],
    http: aiohttp.ClientSession,
    request_fields: dict[str, Any],
) -> None:
    server = servers["deepseek"]
    step = await deepseek_step(http, server)
    messages = [USER, calls_message(step), *results(step)]
    body = {"model": DEEPSEEK_MODEL, "messages": messages, **request_fields}
    assert (await post(http, server, body))[0] == 200


async def test_provider_deepseek_error_reaches_the_client_as_bad_request(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["deepseek"]
    step = await deepseek_step(http, server)
    history = [
        ChatMessage("user", "what is 6*7?"),
        ChatMessage("assistant", None, step.tool_calls),
        ChatMessage("tool", "42", tool_call_id=step.tool_calls[0].id),
    ]
    with pytest.raises(LLMBadRequestError) as caught:
        await complete(make_client(http, server), ChatRequest(DEEPSEEK_MODEL, history))
    assert caught.value.detail is not None and "reasoning_content" in caught.value.detail
    assert caught.value.status == 400


# --- OpenRouter -----------------------------------------------------------------------------


def raw_upstream(body: dict[str, Any]) -> dict[str, Any]:
    error = body["error"]
    assert error["code"] == 400 and error["message"] == "Provider returned error"
    assert error["metadata"]["provider_name"] == "Anthropic"
    raw: dict[str, Any] = json.loads(error["metadata"]["raw"])
    assert raw["type"] == "error" and raw["error"]["type"] == "invalid_request_error"
    return raw


async def test_provider_openrouter_accepts_details_passed_back(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["openrouter"]
    step = await openrouter_step(http, server)
    back = calls_message(step, reasoning_details=step.artefacts["reasoning_details"])
    body = {"model": OPENROUTER_MODEL, "messages": [USER, back, *results(step)], **REASONING_ON}
    assert (await post(http, server, body))[0] == 200


async def test_provider_openrouter_rejects_missing_details_when_continuing_tools(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["openrouter"]
    step = await openrouter_step(http, server)
    system = {"role": "system", "content": "be brief"}
    messages = [system, USER, calls_message(step), *results(step)]
    status, body = await post(
        http, server, {"model": OPENROUTER_MODEL, "messages": messages, **REASONING_ON}
    )
    assert status == 400
    message = raw_upstream(body)["error"]["message"]
    assert message.startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. When `thinking` is enabled, a final `assistant` message must start with "
        "a thinking block"
    )
    assert server.requests[-1].rejected == message


async def test_provider_openrouter_rejects_changed_details_in_any_turn(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["openrouter"]
    step = await openrouter_step(http, server)
    details = [dict(d) for d in step.artefacts["reasoning_details"]]
    details[0]["signature"] = "dGFtcGVyZWQ="
    back = calls_message(step, reasoning_details=details)
    messages = [USER, back, *results(step), {"role": "assistant", "content": "42"}, USER]
    status, body = await post(
        http, server, {"model": OPENROUTER_MODEL, "messages": messages, **REASONING_ON}
    )
    assert status == 400
    assert raw_upstream(body)["error"]["message"] == (
        "messages.1.content.0: Invalid `signature` in `thinking` block"
    )


@pytest.mark.parametrize(
    "request_fields",
    [
        {"model": OPENROUTER_MODEL, **REASONING_ON, "later_turn": True},
        {"model": OPENROUTER_MODEL},
        {"model": "openai/gpt-5", **REASONING_ON},
    ],
    ids=["earlier-turn", "reasoning-off", "not-anthropic"],
)
async def test_provider_openrouter_accepts_missing_details_when_anthropic_would(
    servers: dict[Flavour, FakeLLMServer],
    http: aiohttp.ClientSession,
    request_fields: dict[str, Any],
) -> None:
    server = servers["openrouter"]
    step = await openrouter_step(http, server)
    messages = [USER, calls_message(step), *results(step)]
    if request_fields.pop("later_turn", False):
        messages += [{"role": "assistant", "content": "42"}, USER]
    assert (await post(http, server, {"messages": messages, **request_fields}))[0] == 200


# --- flavour checks off ---------------------------------------------------------------------


async def test_provider_generic_flavour_checks_no_reasoning_state(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["generic"]
    step = await deepseek_step(http, server)
    messages = [USER, calls_message(step), *results(step)]
    assert (await post(http, server, {"model": DEEPSEEK_MODEL, "messages": messages}))[0] == 200
    assert not server.issued.call_ids


async def test_provider_strict_off_skips_flavour_checks(http: aiohttp.ClientSession) -> None:
    async with FakeLLMServer(flavour="deepseek", strict=False) as server:
        step = await deepseek_step(http, server)
        messages = [USER, calls_message(step), *results(step)]
        body = {"model": DEEPSEEK_MODEL, "messages": messages}
        assert (await post(http, server, body))[0] == 200
