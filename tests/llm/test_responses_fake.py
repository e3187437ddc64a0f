"""The strict fake Responses API refuses what OpenAI refuses for stateless requests."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.responses_scripts import responses_text, responses_tool_calls
from tests.fakes.responses_server import (
    FakeResponsesServer,
    Issued,
    is_reasoning_model,
    validate_responses_request,
)


@pytest.fixture
async def server() -> AsyncIterator[FakeResponsesServer]:
    async with FakeResponsesServer(api_key="sk-right") as fake:
        yield fake


def issued_turn() -> tuple[Issued, list[dict[str, Any]]]:
    """What the fake issued for one reasoning + function call answer, and a valid history."""
    script = responses_tool_calls([("echo", {"a": 1})], reasoning="Plan.")
    issued = Issued()
    issued.record(script.output)
    reasoning, call = (dict(i) for i in script.output)
    reasoning.pop("id")
    fc = {k: call[k] for k in ("type", "call_id", "name", "arguments")}
    items = [
        {"role": "user", "content": "hi"},
        reasoning,
        fc,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "ok"},
    ]
    return issued, items


def valid(**changes: Any) -> dict[str, Any]:
    _, items = issued_turn()
    body: dict[str, Any] = {"model": "o4-mini", "input": items, "stream": True, "store": False}
    body.update(changes)
    return body


def test_fake_accepts_a_valid_stateless_tool_turn() -> None:
    issued, items = issued_turn()
    body = {"model": "o4-mini", "input": items, "stream": True, "store": False}

    assert validate_responses_request(body, issued) is None
    # A reasoning item may keep its id when its encrypted content comes with it.
    with_id = copy.deepcopy(body)
    with_id["input"][1]["id"] = next(iter(issued.encrypted))
    assert validate_responses_request(with_id, issued) is None


def _broken(case: str) -> tuple[dict[str, Any], Issued]:
    issued, items = issued_turn()
    body: dict[str, Any] = {"model": "o4-mini", "input": items, "stream": True, "store": False}
    reasoning, call = items[1], items[2]
    if case == "no stream":
        body["stream"] = False
    elif case == "stored":
        del body["store"]
    elif case == "previous response":
        body["previous_response_id"] = "resp_1"
    elif case == "call without output":
        del items[3]
    elif case == "output without call":
        items.insert(1, {"type": "function_call_output", "call_id": "call_x", "output": "?"})
    elif case == "reasoning dropped":
        del items[1]
    elif case == "reasoning changed":
        reasoning["encrypted_content"] = reasoning["encrypted_content"][:-4] + "AAA="
    elif case == "reasoning changed under its id":
        reasoning["id"] = next(iter(issued.encrypted))
        reasoning["encrypted_content"] = "gAAAAABforged"
    elif case == "reasoning by id only":
        reasoning["id"] = next(iter(issued.encrypted))
        del reasoning["encrypted_content"]
    elif case == "call item id":
        call["id"] = "fc_123"
    elif case == "reasoning without following item":
        items.insert(2, {"role": "user", "content": "wait"})
    elif case == "encrypted content for a chat model":
        body["model"] = "gpt-4.1-mini"
        body["include"] = ["reasoning.encrypted_content"]
    elif case == "nested tool":
        body["tools"] = [{"type": "function", "function": {"name": "echo"}}]
    elif case == "small output limit":
        body["max_output_tokens"] = 8
    elif case == "unknown item type":
        items.append({"type": "item_reference", "id": "msg_1"})
    return body, issued


@pytest.mark.parametrize(
    ("case", "status", "wording"),
    [
        ("no stream", 400, "'stream' must be true"),
        ("stored", 400, "'store' must be false"),
        ("previous response", 404, "Previous response with id 'resp_1' not found."),
        ("call without output", 400, "No tool output found for function call call_"),
        ("output without call", 400, "No tool call found for function call output with call_id"),
        ("reasoning dropped", 400, "of type 'function_call' was provided without its required"),
        ("reasoning changed", 400, "could not be verified."),
        ("reasoning changed under its id", 400, "could not be verified. Reason:"),
        ("reasoning by id only", 404, "Items are not persisted when `store` is set to false."),
        ("call item id", 404, "Item with id 'fc_123' not found."),
        ("reasoning without following item", 400, "was provided without its required following"),
        ("encrypted content for a chat model", 400, "Encrypted content is not supported"),
        ("nested tool", 400, "Missing required parameter: 'tools[0].name'."),
        ("small output limit", 400, "Expected a value >= 16, but got 8 instead."),
        ("unknown item type", 400, "Invalid value: 'item_reference'."),
    ],
)
def test_fake_refuses_what_openai_refuses(case: str, status: int, wording: str) -> None:
    body, issued = _broken(case)

    problem = validate_responses_request(body, issued)

    assert problem is not None, case
    assert problem.status == status and wording in problem.message


def test_fake_checks_reasoning_pairing_only_for_reasoning_models() -> None:
    body, issued = _broken("reasoning dropped")
    body["model"] = "gpt-4.1-mini"

    assert validate_responses_request(body, issued) is None
    assert is_reasoning_model("o3") and is_reasoning_model("gpt-5-nano")
    assert not is_reasoning_model("gpt-5-chat-latest") and not is_reasoning_model("gpt-4o")


async def test_fake_answers_in_openais_error_shape_and_records_the_rejection(
    server: FakeResponsesServer, http: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": "Bearer sk-right"}

    async with http.post(
        f"{server.base_url}/responses", json=valid(store=True), headers=headers
    ) as r:
        status, answer = r.status, await r.json()

    assert status == 400
    assert answer == {
        "error": {
            "message": "This fake is stateless: 'store' must be false.",
            "type": "invalid_request_error",
            "param": "store",
            "code": None,
        }
    }
    assert server.responses_requests[0].rejected == answer["error"]["message"]


async def test_fake_refuses_a_wrong_key_and_streams_a_default_answer(
    server: FakeResponsesServer, http: aiohttp.ClientSession
) -> None:
    body = {"model": "o4-mini", "input": "hi", "stream": True, "store": False}

    async with http.post(f"{server.base_url}/responses", json=body) as r:
        denied = r.status
    async with http.post(
        f"{server.base_url}/responses", json=body, headers={"Authorization": "Bearer sk-right"}
    ) as r:
        content_type, raw = r.content_type, await r.read()

    assert denied == 401
    assert content_type == "text/event-stream"
    assert raw.startswith(b"event: response.created\ndata: {")
    assert b"response.reasoning_summary_text.delta" in raw and raw.endswith(b"\n\n")
    assert len(server.issued.encrypted) == 1  # the default answer's reasoning item


async def test_fake_records_what_it_issued_from_queued_answers(
    server: FakeResponsesServer, http: aiohttp.ClientSession
) -> None:
    script = responses_tool_calls([("echo", {}), ("echo", {"b": 1})], reasoning="R")
    server.enqueue(script, responses_text("plain"))
    body = {"model": "o4-mini", "input": "hi", "stream": True, "store": False}
    headers = {"Authorization": "Bearer sk-right"}

    for _ in range(2):
        async with http.post(f"{server.base_url}/responses", json=body, headers=headers) as r:
            await r.read()

    reasoning_id = script.output[0]["id"]
    assert server.issued.encrypted == {reasoning_id: script.output[0]["encrypted_content"]}
    assert [origin for origin in server.issued.calls.values()] == [
        (script.output[1]["id"], reasoning_id),
        (script.output[2]["id"], reasoning_id),
    ]
