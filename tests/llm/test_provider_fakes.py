"""The provider flavours of the fake endpoint: the stream shapes their builders produce (read
by the real client) and what each refuses, with which body, when reasoning state comes back
missing or changed."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.errors import LLMBadRequestError
from bot.llm.client import LLMClient
from bot.llm.types import Artefacts, ChatMessage, ChatRequest, Completion, ToolSpec
from tests.fakes.llm_scripts import Scripted
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_rules import (
    DEEPSEEK_MISSING_REASONING,
    GEMINI_CORRUPTED_SIGNATURE,
    GEMINI_SKIP_SIGNATURE,
    Flavour,
)
from tests.fakes.provider_scripts import (
    DEEPSEEK_MODEL,
    GEMINI_MODEL,
    OPENROUTER_MODEL,
    deepseek_reply,
    deepseek_responder,
    gemini_responder,
    gemini_text_reply,
    gemini_tool_reply,
    openrouter_reply,
    openrouter_responder,
    refusal_reply,
    think_tags_reply,
)
from tests.llm.conftest import collect, complete

USER = {"role": "user", "content": "what is 6*7?"}
CALC = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluates arithmetic.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}},
    },
}
REASONING_ON = {"reasoning": {"enabled": True}}


@pytest.fixture
async def servers() -> AsyncIterator[dict[Flavour, FakeLLMServer]]:
    found: dict[Flavour, FakeLLMServer] = {}
    try:
        for flavour in ("generic", "deepseek", "gemini", "openrouter"):
            found[flavour] = server = FakeLLMServer(flavour=flavour)
            await server.start()
        yield found
    finally:
        for server in found.values():
            await server.close()


def make_client(http: aiohttp.ClientSession, server: FakeLLMServer) -> LLMClient:
    return LLMClient(
        http, server.base_url, backoff_base=0.001, rng=random.Random(1), first_byte_timeout=5
    )


async def issue(
    http: aiohttp.ClientSession, server: FakeLLMServer, script: Scripted, model: str
) -> Completion:
    """Stream `script` through the real client, so the fake remembers what it issued."""
    server.enqueue(script)
    req = ChatRequest(model=model, messages=[ChatMessage("user", "what is 6*7?")])
    return await complete(make_client(http, server), req)


def calls_message(completion: Completion, **fields: Any) -> dict[str, Any]:
    """The assistant message of `completion` as a client sends it back, plus `fields`."""
    message = ChatMessage("assistant", completion.text or None, completion.tool_calls).to_wire()
    return {**message, **fields}


def results(completion: Completion) -> list[dict[str, Any]]:
    return [
        {"role": "tool", "tool_call_id": call.id, "content": "42"} for call in completion.tool_calls
    ]


async def post(
    http: aiohttp.ClientSession, server: FakeLLMServer, body: dict[str, Any]
) -> tuple[int, Any]:
    full = {"stream": True, "tools": [CALC], **body}
    async with http.post(f"{server.base_url}/chat/completions", json=full) as response:
        raw = await response.read()
        if response.content_type == "application/json":
            return response.status, json.loads(raw)
        return response.status, raw


# --- DeepSeek -------------------------------------------------------------------------------


async def deepseek_step(http: aiohttp.ClientSession, server: FakeLLMServer) -> Completion:
    script = deepseek_reply(reasoning="I should compute.", tool_calls=[("calculator", {"e": 1})])
    return await issue(http, server, script, DEEPSEEK_MODEL)


async def test_provider_deepseek_reply_streams_reasoning_then_content(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    done = await issue(
        http,
        servers["deepseek"],
        deepseek_reply("It is 42.", reasoning="Six times seven."),
        DEEPSEEK_MODEL,
    )
    assert (done.reasoning, done.text) == ("Six times seven.", "It is 42.")
    assert done.artefacts == {"reasoning_content": "Six times seven."}
    assert done.usage is not None and done.usage.reasoning_tokens == 4


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


# --- Gemini ---------------------------------------------------------------------------------


async def gemini_step(http: aiohttp.ClientSession, server: FakeLLMServer) -> Completion:
    parallel = [("calculator", {"e": 1}), ("calculator", {"e": 2})]
    return await issue(http, server, gemini_tool_reply(parallel), GEMINI_MODEL)


async def test_provider_gemini_signs_only_the_first_parallel_call(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    step = await gemini_step(http, servers["gemini"])
    first, second = step.tool_calls
    signature = servers["gemini"].issued.signatures[first.id]
    assert first.extra == {"extra_content": {"google": {"thought_signature": signature}}}
    assert second.extra is None
    assert first.id != second.id and step.finish_reason == "tool_calls"


async def test_provider_gemini_text_reply_carries_a_signature_nobody_needs(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    done = await issue(http, servers["gemini"], gemini_text_reply("It is 42."), GEMINI_MODEL)
    assert done.text == "It is 42." and done.artefacts == {}


async def test_provider_gemini_accepts_signatures_passed_back(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["gemini"]
    step = await gemini_step(http, server)
    messages = [USER, calls_message(step), *results(step)]
    assert (await post(http, server, {"model": GEMINI_MODEL, "messages": messages}))[0] == 200


def unsigned(message: dict[str, Any]) -> dict[str, Any]:
    calls = [{k: v for k, v in c.items() if k != "extra_content"} for c in message["tool_calls"]]
    return {**message, "tool_calls": calls}


def signed_with(message: dict[str, Any], signature: str) -> dict[str, Any]:
    first, *rest = message["tool_calls"]
    first = {**first, "extra_content": {"google": {"thought_signature": signature}}}
    return {**message, "tool_calls": [first, *rest]}


async def test_provider_gemini_rejects_missing_signature_in_current_turn(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["gemini"]
    step = await gemini_step(http, server)
    system = {"role": "system", "content": "be brief"}
    messages = [system, USER, unsigned(calls_message(step)), *results(step)]
    status, body = await post(http, server, {"model": GEMINI_MODEL, "messages": messages})
    assert status == 400
    assert isinstance(body, list) and len(body) == 1  # the compatible endpoint's shape
    error = body[0]["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith(
        "Function call is missing a thought_signature in functionCall parts."
    )
    assert "function call `default_api:calculator` , position 2." in error["message"]


async def test_provider_gemini_rejects_changed_signature(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["gemini"]
    step = await gemini_step(http, server)
    messages = [USER, signed_with(calls_message(step), "Zm9yZ2Vk"), *results(step)]
    status, body = await post(http, server, {"model": GEMINI_MODEL, "messages": messages})
    assert status == 400
    assert body == [
        {
            "error": {
                "code": 400,
                "message": GEMINI_CORRUPTED_SIGNATURE,
                "status": "INVALID_ARGUMENT",
            }
        }
    ]


async def test_provider_gemini_validates_only_the_current_turn(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["gemini"]
    step = await gemini_step(http, server)
    earlier = [USER, unsigned(calls_message(step)), *results(step)]
    messages = [*earlier, {"role": "assistant", "content": "42"}, USER]
    assert (await post(http, server, {"model": GEMINI_MODEL, "messages": messages}))[0] == 200


@pytest.mark.parametrize("model", [GEMINI_MODEL, "gemini-2.5-flash"])
async def test_provider_gemini_accepts_skip_signature_and_older_models(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession, model: str
) -> None:
    server = servers["gemini"]
    step = await gemini_step(http, server)
    message = calls_message(step)
    if model == GEMINI_MODEL:
        message = signed_with(message, GEMINI_SKIP_SIGNATURE)
    else:  # Gemini 2.5 does not enforce signatures at all
        message = unsigned(message)
    messages = [USER, message, *results(step)]
    assert (await post(http, server, {"model": model, "messages": messages}))[0] == 200


# --- OpenRouter -----------------------------------------------------------------------------


async def openrouter_step(http: aiohttp.ClientSession, server: FakeLLMServer) -> Completion:
    script = openrouter_reply(
        reasoning="Multiply the numbers.",
        tool_calls=[("calculator", {"e": 1})],
        redacted="RWNyeXB0ZWQ=",
    )
    return await issue(http, server, script, OPENROUTER_MODEL)


def raw_upstream(body: dict[str, Any]) -> dict[str, Any]:
    error = body["error"]
    assert error["code"] == 400 and error["message"] == "Provider returned error"
    assert error["metadata"]["provider_name"] == "Anthropic"
    raw: dict[str, Any] = json.loads(error["metadata"]["raw"])
    assert raw["type"] == "error" and raw["error"]["type"] == "invalid_request_error"
    return raw


async def test_provider_openrouter_reply_merges_reasoning_details(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    step = await openrouter_step(http, servers["openrouter"])
    text, encrypted = step.artefacts["reasoning_details"]
    assert text["type"] == "reasoning.text" and text["text"] == "Multiply the numbers."
    assert text["signature"] and text["format"] == "anthropic-claude-v1" and text["index"] == 0
    assert encrypted == {
        "type": "reasoning.encrypted",
        "data": "RWNyeXB0ZWQ=",
        "format": "anthropic-claude-v1",
        "index": 1,
    }
    assert step.reasoning == "Multiply the numbers."
    assert step.usage is not None and step.usage.provider_cost_usd == pytest.approx(0.00042)


async def test_provider_openrouter_openai_details_keep_summary_and_encrypted_item(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    script = openrouter_reply("Done.", reasoning="Short summary.", details="openai")
    done = await issue(http, servers["openrouter"], script, "openai/gpt-5")
    summary, encrypted = done.artefacts["reasoning_details"]
    assert summary["type"] == "reasoning.summary" and summary["summary"] == "Short summary."
    assert encrypted["type"] == "reasoning.encrypted" and encrypted["id"].startswith("rs_")
    assert (done.text, done.reasoning) == ("Done.", "Short summary.")


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


# --- shared: flavours off, refusals, thinking tags, responders -----------------------------


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


async def test_provider_refusal_reply_is_the_answer(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    done = await issue(http, servers["generic"], refusal_reply("I can't do that."), "m")
    assert done.refusal and done.text == "I can't do that." and done.reasoning == ""


@pytest.mark.parametrize("style", ["inline", "r1"])
async def test_provider_think_tags_reply_splits_reasoning_across_chunks(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession, style: Any
) -> None:
    script = think_tags_reply("Greet them back.", "Hello there!", style=style)
    contents = [
        json.loads(w[6:])["choices"][0]["delta"].get("content") or ""
        for w in script.writes
        if w.startswith(b"data: {") and b'"choices": [{' in w
    ]
    whole = "".join(contents)
    assert whole.count("</think>") == 1 and whole.count("<think>") == (style == "inline")
    assert not any("think>" in c for c in contents)  # every tag is cut across chunks
    done = await issue(http, servers["generic"], script, "m")
    assert (done.reasoning, done.text) == ("Greet them back.", "Hello there!")


@pytest.mark.parametrize(
    ("flavour", "responder", "model"),
    [
        ("deepseek", deepseek_responder, DEEPSEEK_MODEL),
        ("gemini", gemini_responder, GEMINI_MODEL),
        ("openrouter", openrouter_responder, OPENROUTER_MODEL),
    ],
)
async def test_provider_responder_calls_tools_then_answers(
    servers: dict[Flavour, FakeLLMServer],
    http: aiohttp.ClientSession,
    flavour: Flavour,
    responder: Any,
    model: str,
) -> None:
    server = servers[flavour]
    server.responder = responder(rounds=2, text="It is 42.")
    client = make_client(http, server)
    tools = [ToolSpec("calculator", "Evaluates arithmetic.", {"type": "object"})]
    history: list[ChatMessage] = [ChatMessage("user", "what is 6*7?")]
    no_tools = await complete(client, ChatRequest(model, history))
    assert no_tools.text == "It is 42." and not no_tools.tool_calls
    forced = await complete(client, ChatRequest(model, history, tools, tool_choice="none"))
    assert forced.text == "It is 42."
    arguments = []
    for _ in range(2):
        step = await complete(client, ChatRequest(model, history, tools))
        assert [c.name for c in step.tool_calls] == ["calculator"]
        arguments.append(json.loads(step.tool_calls[0].arguments))
        artefacts = Artefacts(model, step.artefacts) if step.artefacts else None
        history += [
            ChatMessage("assistant", None, step.tool_calls, artefacts=artefacts),
            ChatMessage("tool", "42", tool_call_id=step.tool_calls[0].id),
        ]
    assert arguments == [{"expression": "1*1"}, {"expression": "2*1"}]
    final = await complete(client, ChatRequest(model, history, tools))
    assert final.text == "It is 42." and not final.tool_calls
    assert all(r.rejected is None for r in server.chat_requests)


async def test_provider_responder_parallel_calls(
    servers: dict[Flavour, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    server = servers["gemini"]
    server.responder = gemini_responder(parallel=3, tool="lookup", arguments={"q": "x"})
    tools = [ToolSpec("lookup", "Looks up.", {"type": "object"})]
    req = ChatRequest(GEMINI_MODEL, [ChatMessage("user", "hi")], tools)
    events = await collect(make_client(http, server), req)
    done = events[-1]
    assert isinstance(done, Completion)
    assert [c.name for c in done.tool_calls] == ["lookup"] * 3
    assert [c.extra is not None for c in done.tool_calls] == [True, False, False]
