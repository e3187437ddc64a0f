"""LLMClient against the fake server over HTTP: every provider variation of a good stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest

from bot.errors import LLMServerError
from bot.llm.client import LLMClient
from bot.llm.types import (
    ChatMessage,
    ChatRequest,
    Completion,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallProgress,
    ToolSpec,
    Usage,
)
from tests.fakes.llm_scripts import (
    Style,
    chunk,
    error_event,
    raw_sse,
    sse,
    text_reply,
    tool_call_reply,
)
from tests.fakes.llm_server import FakeLLMServer
from tests.llm.conftest import MakeClient, collect, complete, request

CALLS: list[tuple[str, Any]] = [
    ("calculator", {"expression": "1+1"}),
    ("current_time", {"timezone": "Europe/Paris"}),
]


async def test_client_streams_text_reasoning_and_usage(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(text_reply("Hello there", chunk_size=4, reasoning="Let me think"))
    events = await collect(client)
    assert [type(e) for e in events[:3]] == [ReasoningDelta] * 3
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello there"
    done = events[-1]
    assert isinstance(done, Completion)
    assert (done.text, done.reasoning, done.finish_reason) == (
        "Hello there",
        "Let me think",
        "stop",
    )
    assert done.usage == Usage(12, 5)
    assert done.model == "fake-model"


async def test_client_reasoning_field_and_comments_openrouter(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    stream = (
        b": OPENROUTER PROCESSING\n\n"
        + sse(chunk({"reasoning": "hm", "reasoning_details": [{"type": "reasoning.text"}]}))
        + b": OPENROUTER PROCESSING\n\n"
        + sse(chunk({"content": "ok", "reasoning": None}, finish_reason="stop"))
        + sse(chunk(choices=False, usage={"prompt_tokens": 3, "completion_tokens": 1, "cost": 0.5}))
        + b"data: [DONE]\n\n"
    )
    llm.enqueue(raw_sse(stream))
    done = await complete(client)
    assert (done.reasoning, done.text) == ("hm", "ok")
    assert done.usage is not None and done.usage.provider_cost_usd == 0.5


@pytest.mark.parametrize("style", ["openai", "gemini", "mistral", "ollama", "anonymous"])
async def test_client_tool_calls_every_provider_style(
    llm: FakeLLMServer, client: LLMClient, style: Style
) -> None:
    llm.enqueue(tool_call_reply(CALLS, text="Checking.", style=style))
    events = await collect(client)
    progress = [e for e in events if isinstance(e, ToolCallProgress)]
    assert progress == [ToolCallProgress(0, "calculator"), ToolCallProgress(1, "current_time")]
    done = events[-1]
    assert isinstance(done, Completion)
    assert done.text == "Checking."
    assert done.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in done.tool_calls] == CALLS
    assert len({c.id for c in done.tool_calls}) == 2


async def test_client_usage_on_last_choice_chunk(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(
        text_reply(
            "x", usage={"prompt_tokens": 4, "completion_tokens": 2}, usage_style="last_choice"
        )
    )
    assert (await complete(client)).usage == Usage(4, 2)


async def test_client_usage_groq_x_groq(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(
        text_reply("x", usage={"prompt_tokens": 6, "completion_tokens": 1}, usage_style="groq")
    )
    assert (await complete(client)).usage == Usage(6, 1)


async def test_client_no_usage_gives_none(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(text_reply("x", usage=None))
    assert (await complete(client)).usage is None


async def test_client_missing_done_still_completes(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(text_reply("no done marker", done=False))
    done = await complete(client)
    assert (done.text, done.finish_reason, done.usage) == ("no done marker", "stop", Usage(12, 5))


WEIRD = (
    ": hello\r\n\r\n"
    'data:{"model":"m","choices":[{"index":0,"delta":{"content":"caf\u00e9 \u6f22"}}]}\r\n\r\n'
    'data: {"model":"m","choices":[{"index":0,\r\ndata: "delta":{"content":"!"}}]}\r\r'
    ":keep-alive\n\n"
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    "data: [DONE]\r\n\r\n"
)


@pytest.mark.parametrize("writes", ["whole", "bytewise", "inside_utf8"])
async def test_client_weird_framing_over_http(
    llm: FakeLLMServer, client: LLMClient, writes: str
) -> None:
    data = WEIRD.encode()
    if writes == "whole":
        llm.enqueue(raw_sse(data))
    elif writes == "bytewise":
        llm.enqueue(raw_sse(data, every=1))
    else:
        inside = data.index("é".encode()) + 1
        llm.enqueue(raw_sse(data, split_at=[inside, inside + 3, inside + 4], delay=0.01))
    done = await complete(client)
    assert (done.text, done.finish_reason, done.model) == ("café 漢!", "stop", "m")


async def test_client_length_keeps_truncated_arguments(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(tool_call_reply([("calculator", '{"expression": "1+')], finish_reason="length"))
    done = await complete(client)
    assert done.finish_reason == "length"
    assert done.tool_calls[0].arguments == '{"expression": "1+'


async def test_client_sends_wire_body_and_bearer(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    client = make_client(api_key="sk-test-123")
    req = ChatRequest(
        model="fake-model",
        messages=[
            ChatMessage("system", "be brief"),
            ChatMessage("user", "1+1?"),
            ChatMessage("assistant", None, (ToolCall("c1", "calculator", '{"e":"1+1"}'),)),
            ChatMessage("tool", "2", tool_call_id="c1"),
        ],
        tools=[ToolSpec("calculator", "math", {"type": "object", "properties": {}})],
        tool_choice="auto",
        max_tokens=50,
    )
    await complete(client, req)
    recorded = llm.requests[-1]
    assert recorded.rejected is None
    assert recorded.json == req.to_wire()
    assert recorded.headers["Authorization"] == "Bearer sk-test-123"
    assert recorded.headers["Accept"] == "text/event-stream"


async def test_client_without_key_sends_no_authorization(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    await complete(client)
    assert "Authorization" not in llm.requests[-1].headers


async def test_client_non_streamed_json_answer_is_accepted(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    from tests.fakes.llm_scripts import Scripted

    document = {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "whole"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1},
    }
    llm.enqueue(Scripted(body=json.dumps(document).encode(), content_type="application/json"))
    done = await complete(client)
    assert (done.text, done.usage) == ("whole", Usage(2, 1))


async def test_client_error_object_after_output_is_partial(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(error_event(text_reply("abcdefgh" * 3), after=3, code=502))
    seen: list[object] = []
    with pytest.raises(LLMServerError) as caught:
        async for event in client.stream(request()):
            seen.append(event)
    assert caught.value.partial
    assert seen and not any(isinstance(e, Completion) for e in seen)
    assert len(llm.chat_requests) == 1


async def test_client_error_object_before_output_is_retried(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(error_event(text_reply("x"), after=1, code=502), text_reply("second"))
    assert (await complete(client)).text == "second"
    assert len(llm.chat_requests) == 2


async def test_client_aclose_closes_connection(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(text_reply("z" * 200, chunk_size=1, delay=0.01))
    stream = client.stream(request())
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()
    await asyncio.wait_for(llm.disconnected.wait(), 5)
    assert llm.disconnects == 1


async def test_client_cancel_closes_connection(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(text_reply("z" * 200, chunk_size=1, delay=0.01))
    got_text = asyncio.Event()

    async def consume() -> None:
        async with contextlib.aclosing(client.stream(request())) as stream:
            async for _ in stream:
                got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(llm.disconnected.wait(), 5)


async def test_client_list_models(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.models = ["a-model", "b-model"]
    models = await client.list_models()
    assert [(m.id, m.owned_by) for m in models] == [("a-model", "fake"), ("b-model", "fake")]
    assert llm.requests[-1].method == "GET"
