"""What the Gemini flavour of the fake endpoint refuses, with which body, when the thought
signature of a tool-calling turn comes back missing or changed: only the current turn is
checked, the documented skip signature passes, and Gemini 2.5 models are not checked at all.
What the Gemini builders stream is in `test_provider_fakes_streams.py`."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.provider_rules import (
    GEMINI_CORRUPTED_SIGNATURE,
    GEMINI_SKIP_SIGNATURE,
    Flavour,
)
from tests.fakes.provider_scripts import GEMINI_MODEL
from tests.llm.provider_fake_helpers import (
    USER,
    calls_message,
    gemini_step,
    post,
    results,
)


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
