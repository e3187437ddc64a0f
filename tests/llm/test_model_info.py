"""Context windows: `discover_context_tokens` against each server family the fake can play (and
small servers for the odd shapes), and a llama.cpp-family server whose window overflows."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.errors import LLMBadResponseError
from bot.llm.client import EMPTY_STREAM, LLMClient
from bot.llm.model_info import discover_context_tokens
from bot.llm.types import ChatMessage, ChatRequest
from tests.fakes.llm_scripts import text_reply
from tests.fakes.llm_server import ContextStyle, FakeLLMServer
from tests.llm.conftest import complete

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[dict[str, Handler]], Awaitable[str]]]:
    """Start a tiny server on 127.0.0.1 with the given `"METHOD /path"` handlers; returns
    its `/v1` base URL."""
    runners: list[web.AppRunner] = []

    async def start(routes: dict[str, Handler]) -> str:
        app = web.Application()
        for route, handler in routes.items():
            method, path = route.split(" ", 1)
            app.router.add_route(method, path, handler)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/v1"

    yield start
    for runner in runners:
        await runner.cleanup()


def answer(document: Any, status: int = 200) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if isinstance(document, bytes):
            return web.Response(body=document, status=status, content_type="application/json")
        return web.json_response(document, status=status)

    return handle


@pytest.mark.parametrize(
    ("style", "asked"),
    [
        ("vllm", ["/v1/models"]),
        ("openrouter", ["/v1/models"]),
        ("llamacpp", ["/v1/models", "/props"]),
        ("ollama", ["/v1/models", "/props", "/api/show"]),
    ],
)
async def test_model_info_discovers_each_server_family(
    http: aiohttp.ClientSession, style: ContextStyle, asked: list[str]
) -> None:
    async with FakeLLMServer(context_style=style, context_window=12_288) as llm:
        found = await discover_context_tokens(http, llm.base_url, "", "fake-model")
        assert found == 12_288
        assert [r.path for r in llm.requests] == asked
        if style == "ollama":
            assert llm.requests[-1].json == {"model": "fake-model"}


async def test_model_info_llamacpp_uses_the_running_window_not_the_trained_one(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeLLMServer(context_style="llamacpp", context_window=4096) as llm:
        async with http.get(f"{llm.base_url}/models") as response:
            entry = (await response.json())["data"][0]
        assert entry["meta"]["n_ctx_train"] == 16_384
        assert await discover_context_tokens(http, llm.base_url + "/", "", "fake-model") == 4096


async def test_model_info_ollama_num_ctx_takes_precedence(http: aiohttp.ClientSession) -> None:
    async with FakeLLMServer(
        context_style="ollama",
        context_window=131_072,
        ollama_num_ctx=8192,
        models=["llama3:latest"],
    ) as llm:
        # Configured without the tag Ollama lists it with.
        assert await discover_context_tokens(http, llm.base_url, "", "llama3") == 8192
        assert await discover_context_tokens(http, llm.base_url, "", "missing") is None


async def test_model_info_unknown_model_and_silent_server_give_none(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.llm.model_info")
    async with FakeLLMServer(context_style="vllm") as llm:
        assert await discover_context_tokens(http, llm.base_url, "", "other-model") is None
    async with FakeLLMServer() as llm:
        assert await discover_context_tokens(http, llm.base_url, "", "fake-model") is None
        assert [r.path for r in llm.requests] == ["/v1/models", "/props", "/api/show"]
    assert "does not say" in caplog.text


async def test_model_info_sends_the_key(http: aiohttp.ClientSession) -> None:
    async with FakeLLMServer(context_style="openrouter", api_key="sk-or-test") as llm:
        found = await discover_context_tokens(http, llm.base_url, "sk-or-test", "fake-model")
        assert found == 8192
        assert llm.requests[0].headers["Authorization"] == "Bearer sk-or-test"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"top_provider": {"context_length": 65_536}}, 65_536),
        ({"context_length": None, "top_provider": {"context_length": 1000}}, 1000),
        ({"context_window": 131_072}, 131_072),  # Groq
        ({"max_context_length": "32768"}, 32_768),  # LM Studio, as text
        ({"context_length": True}, None),
        ({"context_length": -1}, None),
        ({"context_length": "lots"}, None),
    ],
)
async def test_model_info_reads_other_models_entries(
    http: aiohttp.ClientSession,
    serve: Callable[[dict[str, Handler]], Awaitable[str]],
    entry: dict[str, Any],
    expected: int | None,
) -> None:
    base = await serve({"GET /v1/models": answer({"data": [{"id": "m", **entry}]})})
    assert await discover_context_tokens(http, base, "", "m") == expected


async def test_model_info_bad_answers_fall_through_to_the_next_question(
    http: aiohttp.ClientSession, serve: Callable[[dict[str, Handler]], Awaitable[str]]
) -> None:
    show = {"parameters": "stop x", "model_info": {"qwen2.context_length": 40_960}}
    base = await serve(
        {
            "GET /v1/models": answer(b"{not json"),
            "GET /props": answer({"error": "unavailable"}, status=503),
            "POST /api/show": answer(show),
        }
    )
    assert await discover_context_tokens(http, base, "", "qwen") == 40_960


async def test_model_info_never_raises_on_dead_or_slow_servers(
    http: aiohttp.ClientSession, serve: Callable[[dict[str, Handler]], Awaitable[str]]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    dead = f"http://127.0.0.1:{closed_port}/v1"
    assert await discover_context_tokens(http, dead, "", "m") is None

    async def stall(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    slow = await serve({"GET /v1/models": stall, "GET /props": stall, "POST /api/show": stall})
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await discover_context_tokens(http, slow, "", "m", timeout=0.1) is None
    assert loop.time() - started < 2


# --- a window that overflows -----------------------------------------------------------------


async def test_model_info_overflow_answers_an_empty_event_stream(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeLLMServer(empty_on_overflow=True, context_window=10) as llm:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x" * 44}]}
        async with http.post(f"{llm.base_url}/chat/completions", json=body) as response:
            assert response.status == 200
            assert response.content_type == "text/event-stream"
            assert await response.read() == b""
        assert llm.requests[-1].rejected is not None


async def test_model_info_overflow_reaches_the_client_as_an_empty_answer(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeLLMServer(empty_on_overflow=True, context_window=100) as llm:
        client = LLMClient(http, llm.base_url, backoff_base=0.001, first_byte_timeout=5)
        llm.enqueue(text_reply("fits"))
        long = ChatRequest("m", [ChatMessage("user", "word " * 100)])
        with pytest.raises(LLMBadResponseError) as caught:
            await complete(client, long)
        assert caught.value.user_message == EMPTY_STREAM
        assert "empty answer" in caught.value.user_message
        assert len(llm.chat_requests) == 1  # not retried: the same prompt would not fit again
        short = ChatRequest("m", [ChatMessage("user", "word " * 70)])
        assert (await complete(client, short)).text == "fits"  # the queue was left alone
