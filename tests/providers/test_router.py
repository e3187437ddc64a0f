"""`ModelRouter`: references to providers, fallbacks before the first token, and artefacts
that never reach another model. Two fake providers on 127.0.0.1, the real clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.errors import LLMServerError
from bot.llm.providers import DEFAULT_PROVIDER, ModelConfig, ModelDirectory, ProviderConfig
from bot.llm.router import ModelRouter, build_router
from bot.llm.types import (
    Artefacts,
    ChatMessage,
    ChatRequest,
    Completion,
    ModelSwitched,
    StreamEvent,
    TextDelta,
    ToolCall,
)
from tests.fakes.llm_scripts import cut_after, http_error, text_reply
from tests.fakes.llm_server import FakeLLMServer

FAST = {"max_retries": 1, "backoff_base": 0.001, "backoff_max": 0.001, "first_byte_timeout": 5}


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeLLMServer, FakeLLMServer]]:
    async with FakeLLMServer() as main, FakeLLMServer() as backup:
        yield main, backup


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def directory(main: FakeLLMServer, backup: FakeLLMServer) -> ModelDirectory:
    return ModelDirectory(
        {
            DEFAULT_PROVIDER: ProviderConfig(DEFAULT_PROVIDER, main.base_url),
            "backup": ProviderConfig("backup", backup.base_url, "sk-backup"),
        },
        {
            "main-model": ModelConfig(
                params={"reasoning_effort": "high"}, fallback=("backup/spare-model",)
            ),
        },
    )


async def collect(router: ModelRouter, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in router.stream(request)]


def completion(events: list[StreamEvent]) -> Completion:
    last = events[-1]
    assert isinstance(last, Completion)
    return last


async def test_router_sends_to_the_provider_with_the_model_params(
    servers: tuple[FakeLLMServer, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    main, backup = servers
    router = build_router(http, directory(main, backup), **FAST)

    events = await collect(router, ChatRequest("main-model", [ChatMessage("user", "hi")]))
    assert completion(events).source == "main-model"
    assert main.chat_requests[0].json["reasoning_effort"] == "high"
    assert main.chat_requests[0].json["model"] == "main-model"

    events = await collect(router, ChatRequest("backup/spare-model", [ChatMessage("user", "hi")]))
    sent = backup.chat_requests[0]
    assert sent.json["model"] == "spare-model"
    assert sent.headers["Authorization"] == "Bearer sk-backup"
    assert completion(events).source == "backup/spare-model"


async def test_router_falls_back_before_the_first_token_and_says_so(
    servers: tuple[FakeLLMServer, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    main, backup = servers
    main.enqueue(http_error(503, message="overloaded"), http_error(503, message="overloaded"))
    backup.enqueue(text_reply("from the spare"))
    router = build_router(http, directory(main, backup), **FAST)

    events = await collect(router, ChatRequest("main-model", [ChatMessage("user", "hi")]))

    assert events[0] == ModelSwitched(
        "main-model", "backup/spare-model", "The model endpoint had a server error."
    )
    assert completion(events).text == "from the spare"
    assert completion(events).source == "backup/spare-model"
    assert len(main.chat_requests) == 2  # the client's own retry first
    assert "reasoning_effort" not in backup.chat_requests[0].json  # params are per model


async def test_router_never_restarts_an_answer_that_had_begun(
    servers: tuple[FakeLLMServer, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    main, backup = servers
    main.enqueue(cut_after(3, text_reply("partial answer that is cut", chunk_size=2)))
    router = build_router(http, directory(main, backup), **FAST)

    seen: list[StreamEvent] = []
    with pytest.raises(Exception) as caught:
        async for event in router.stream(ChatRequest("main-model", [ChatMessage("user", "hi")])):
            seen.append(event)
    assert getattr(caught.value, "partial", False) is True
    assert any(isinstance(e, TextDelta) for e in seen)
    assert backup.chat_requests == []


async def test_router_last_failure_is_raised_when_every_model_fails(
    servers: tuple[FakeLLMServer, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    main, backup = servers
    main.enqueue(http_error(500), http_error(500))
    backup.enqueue(http_error(502), http_error(502))
    router = build_router(http, directory(main, backup), **FAST)
    with pytest.raises(LLMServerError):
        await collect(router, ChatRequest("main-model", [ChatMessage("user", "hi")]))
    assert (len(main.chat_requests), len(backup.chat_requests)) == (2, 2)


async def test_router_retells_other_models_tool_rounds_as_text(
    servers: tuple[FakeLLMServer, FakeLLMServer], http: aiohttp.ClientSession
) -> None:
    main, backup = servers
    router = build_router(http, directory(main, backup), **FAST)
    signature = {"extra_content": {"google": {"thought_signature": "sig"}}}
    history = [
        ChatMessage("user", "weather?"),
        ChatMessage(
            "assistant",
            None,
            (ToolCall("c1", "weather", "{}", signature),),
            artefacts=Artefacts("main-model", {"reasoning_content": "think"}),
        ),
        ChatMessage("tool", "sunny", tool_call_id="c1"),
        ChatMessage("user", "and tomorrow?"),
    ]

    await collect(router, ChatRequest("main-model", history))
    await collect(router, ChatRequest("backup/spare-model", history))

    own = main.chat_requests[0].json["messages"][1]
    assert own["reasoning_content"] == "think"
    assert own["tool_calls"][0]["extra_content"] == signature["extra_content"]
    # Another model gets the round as text: no tool call without the state its own provider
    # would require, and none of the first model's reasoning state.
    foreign = backup.chat_requests[0].json["messages"]
    assert [m["role"] for m in foreign] == ["user", "assistant", "user"]
    assert foreign[1] == {
        "role": "assistant",
        "content": "(I used the tool `weather` with {}; it returned: sunny)",
    }
