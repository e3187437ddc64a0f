"""Garbage from a model endpoint: what parsed is kept, the failure is plain, nothing hangs."""

from __future__ import annotations

import json

import pytest

from bot.errors import LLMBadResponseError, LLMError
from bot.llm.client import LLMClient
from bot.llm.types import StreamEvent, TextDelta
from tests.fakes.llm_scripts import Scripted, chunk, raw_sse, sse
from tests.fakes.llm_server import FakeLLMServer
from tests.llm.conftest import MakeClient, complete, request


def text_then(garbage: bytes) -> Scripted:
    """Two words of a normal stream, then `garbage`, then a normal end."""
    good = sse(chunk({"content": "Hello "})) + sse(chunk({"content": "there"}))
    return raw_sse(good + garbage + sse(chunk({}, finish_reason="stop")) + sse("[DONE]"))


async def partial(client: LLMClient) -> tuple[str, LLMError]:
    seen: list[StreamEvent] = []
    with pytest.raises(LLMError) as caught:
        async for event in client.stream(request()):
            seen.append(event)
    return "".join(e.text for e in seen if isinstance(e, TextDelta)), caught.value


@pytest.mark.parametrize(
    "garbage",
    [
        b"data: \xff\xfe{not utf-8}\n\n",
        b"data: [1, 2, 3]\n\n",
        b'data: {"choices": [{"delta": {"content": "unterminated\n\n',
        b"data: " + b"x" * 2_000_000 + b"\n\n",  # one 2 MB line that is not JSON
    ],
    ids=["invalid-utf8", "not-an-object", "broken-json", "2mb-line"],
)
async def test_client_garbage_mid_stream_keeps_what_came_and_fails_plainly(
    llm: FakeLLMServer, make_client: MakeClient, garbage: bytes
) -> None:
    llm.enqueue(text_then(garbage))
    shown, error = await partial(make_client(max_retries=0))
    assert shown == "Hello there"
    assert isinstance(error, LLMBadResponseError) and error.partial
    assert error.user_message == LLMBadResponseError.default_message


async def test_client_a_2mb_valid_line_is_read_whole(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    big = "word " * 400_000
    llm.enqueue(raw_sse(sse(chunk({"content": big}, finish_reason="stop")), every=65536))
    assert (await complete(make_client())).text == big


async def test_client_choices_null_is_no_output_not_a_crash(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    body = sse({"id": "x", "choices": None}) + sse(chunk({"content": "ok"}, finish_reason="stop"))
    llm.enqueue(raw_sse(body + sse("[DONE]")))
    assert (await complete(make_client())).text == "ok"


async def test_client_html_page_with_200_is_named_plainly(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    llm.enqueue(Scripted(body=b"<!doctype html><title>Login</title>", content_type="text/html"))
    with pytest.raises(LLMBadResponseError) as caught:
        await complete(make_client(max_retries=0))
    assert "web page" in caught.value.user_message


async def test_client_json_document_that_is_not_a_completion(
    llm: FakeLLMServer, make_client: MakeClient
) -> None:
    llm.enqueue(Scripted(body=json.dumps([1, 2]).encode(), content_type="application/json"))
    with pytest.raises(LLMBadResponseError):
        await complete(make_client(max_retries=0))
