"""What each provider flavour's reply builders stream, read by the real client: DeepSeek's
reasoning before content, Gemini's thought signature on only the first parallel call,
OpenRouter's merged reasoning details, refusals, thinking tags cut across chunks, and the
scripted responders that call tools for a few rounds and then answer. What the fakes refuse
when reasoning state comes back is in `test_provider_fakes_reasoning_checks.py` and
`test_provider_fakes_gemini_checks.py`."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.llm.types import Artefacts, ChatMessage, ChatRequest, Completion, ToolSpec
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_rules import Flavour
from tests.fakes.provider_scripts import (
    DEEPSEEK_MODEL,
    GEMINI_MODEL,
    OPENROUTER_MODEL,
    deepseek_reply,
    deepseek_responder,
    gemini_responder,
    gemini_text_reply,
    openrouter_reply,
    openrouter_responder,
    refusal_reply,
    think_tags_reply,
)
from tests.llm.conftest import collect, complete
from tests.llm.provider_fake_helpers import (
    gemini_step,
    issue,
    make_client,
    openrouter_step,
)


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
