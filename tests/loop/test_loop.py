"""The tool loop against the strict fake endpoint, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.errors import LLMBadRequestError
from bot.llm.client import LLMClient
from bot.llm.loop import run_tool_loop
from bot.llm.tools import ToolContext, ToolRegistry
from bot.llm.types import (
    LoopDone,
    LoopError,
    LoopEvent,
    RoundFinished,
    RoundStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
    UsageReported,
)
from tests.fakes.llm_scripts import cut_after, http_error, text_reply, tool_call_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.loop.conftest import request, run
from tests.loop.tools import broken, echo, needs_x, refuses, sleepy, tool


def kinds(events: list[LoopEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def only(events: list[LoopEvent], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def tool_messages(llm: FakeLLMServer, request_index: int) -> list[dict[str, Any]]:
    messages = llm.chat_requests[request_index].json["messages"]
    return [m for m in messages if m["role"] == "tool"]


async def test_loop_text_answer_event_order(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(text_reply("Hello there", chunk_size=4))
    events = await run(client)
    assert kinds(events)[0] == "RoundStarted"
    assert "".join(e.text for e in only(events, TextDelta)) == "Hello there"
    tail = kinds(events)[-3:]
    assert tail == ["UsageReported", "RoundFinished", "LoopDone"]
    usage = only(events, UsageReported)[0]
    assert usage.status == "completed" and not usage.usage.estimated
    assert usage.usage.prompt_tokens == 12
    done = events[-1]
    assert isinstance(done, LoopDone) and done.reason == "complete" and done.text == "Hello there"
    assert "tools" not in llm.chat_requests[0].json  # no tools registered → none sent


async def test_loop_runs_a_tool_and_sends_the_result_back(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(
        tool_call_reply([("echo", {"a": 1})], text="Let me check."),
        text_reply("The echo said hi."),
    )
    events = await run(client, [tool("echo", echo)])
    started, finished = only(events, ToolStarted), only(events, ToolFinished)
    assert [s.call.name for s in started] == ["echo"]
    assert finished[0].status == "ok" and finished[0].result == "echo [('a', 1)] in 1"
    assert finished[0].round == 1
    # The strict fake accepted the second request, so pairing and order were valid.
    assert len(llm.chat_requests) == 2 and llm.chat_requests[1].rejected is None
    second = llm.chat_requests[1].json["messages"]
    assert second[-2]["role"] == "assistant" and second[-2]["content"] == "Let me check."
    assert second[-1] == {
        "role": "tool",
        "content": "echo [('a', 1)] in 1",
        "tool_call_id": started[0].call.id,
    }
    assert llm.chat_requests[0].json["tools"][0]["function"]["name"] == "echo"
    done = events[-1]
    assert isinstance(done, LoopDone) and done.rounds == 2 and done.text == "The echo said hi."


async def test_loop_tools_of_one_round_run_concurrently(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    a_started, b_started = asyncio.Event(), asyncio.Event()

    async def first(ctx: ToolContext, **_: Any) -> str:
        a_started.set()
        await b_started.wait()  # deadlocks unless the second runs at the same time
        return "first"

    async def second(ctx: ToolContext, **_: Any) -> str:
        b_started.set()
        await a_started.wait()
        return "second"

    llm.enqueue(tool_call_reply([("first", {}), ("second", {})]), text_reply("done"))
    async with asyncio.timeout(3):
        events = await run(client, [tool("first", first), tool("second", second)])
    assert [f.status for f in only(events, ToolFinished)] == ["ok", "ok"]


async def test_loop_results_return_in_call_order(llm: FakeLLMServer, client: LLMClient) -> None:
    release_slow = asyncio.Event()

    async def slow(ctx: ToolContext, **_: Any) -> str:
        await release_slow.wait()
        return "slow result"

    async def fast(ctx: ToolContext, **_: Any) -> str:
        return "fast result"

    llm.enqueue(tool_call_reply([("slow", {}), ("fast", {})]), text_reply("ok"))
    registry = ToolRegistry([tool("slow", slow), tool("fast", fast)])
    finished_order = []
    async with asyncio.timeout(3):
        async for event in run_tool_loop(client, request(), registry, ToolContext()):
            if isinstance(event, ToolFinished):
                finished_order.append(event.call.name)
                release_slow.set()  # the slow tool may finish only after the fast one did
    # Finished events arrive as tools complete…
    assert finished_order == ["fast", "slow"]
    # …but the model gets results in the order it made the calls.
    assert [m["content"] for m in tool_messages(llm, 1)] == ["slow result", "fast result"]


async def test_loop_tool_failures_become_error_results(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    calls = [
        ("broken", {}),
        ("refuses", {}),
        ("sleepy", {}),
        ("missing_tool", {}),
        ("needs_x", '{"x": 1'),  # malformed JSON
        ("needs_x", {"y": 2}),  # wrong keyword
        ("needs_x", "[1, 2]"),  # not an object
    ]
    llm.enqueue(tool_call_reply(calls), text_reply("sorry"))
    tools = [
        tool("broken", broken),
        tool("refuses", refuses),
        tool("sleepy", sleepy, timeout_s=0.05),
        tool("needs_x", needs_x),
    ]
    events = await run(client, tools)
    by_name = {(f.call.name, f.call.arguments): f for f in only(events, ToolFinished)}
    results = [by_name[(name, a if isinstance(a, str) else json.dumps(a))] for name, a in calls]
    assert [r.status for r in results] == [
        "error",
        "error",
        "timeout",
        "error",
        "error",
        "error",
        "error",
    ]
    assert "failed unexpectedly" in results[0].result
    assert "secret internal detail" not in results[0].result
    assert results[1].result == "Error: the thing is not available"
    assert "timed out" in results[2].result
    assert "unknown tool 'missing_tool'" in results[3].result
    assert "not valid JSON" in results[4].result
    assert "bad arguments" in results[5].result
    assert "JSON object" in results[6].result
    assert isinstance(events[-1], LoopDone) and events[-1].text == "sorry"
    assert len(tool_messages(llm, 1)) == len(calls)


async def test_loop_refuses_a_third_identical_call(llm: FakeLLMServer, client: LLMClient) -> None:
    same = ("echo", {"q": "x"})
    llm.enqueue(
        tool_call_reply([same]),
        tool_call_reply([same]),
        tool_call_reply([same, ("echo", {"q": "other"})]),
        text_reply("fine"),
    )
    events = await run(client, [tool("echo", echo)])
    statuses = [(f.call.arguments, f.status) for f in only(events, ToolFinished)]
    assert statuses == [
        ('{"q": "x"}', "ok"),
        ('{"q": "x"}', "ok"),
        ('{"q": "x"}', "refused"),
        ('{"q": "other"}', "ok"),
    ]
    assert "already made twice" in only(events, ToolFinished)[2].result


async def test_loop_max_tool_rounds_forces_a_text_answer(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(
        tool_call_reply([("echo", {"n": 1})]),
        tool_call_reply([("echo", {"n": 2})]),
        text_reply("Here is what I found."),
    )
    events = await run(client, [tool("echo", echo)], max_tool_rounds=2)
    assert [r.json.get("tool_choice") for r in llm.chat_requests] == [None, None, "none"]
    done = events[-1]
    assert isinstance(done, LoopDone) and done.reason == "max_rounds"
    assert done.text == "Here is what I found." and "2 rounds" in (done.note or "")


async def test_loop_max_tool_rounds_drops_calls_the_model_insists_on(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.responder = lambda body: tool_call_reply([("echo", {"n": len(body["messages"])})])
    events = await run(client, [tool("echo", echo)], max_tool_rounds=3)
    assert len(llm.chat_requests) == 4
    assert len(only(events, ToolStarted)) == 3  # the 4th round's calls never ran
    last_round = only(events, RoundFinished)[-1]
    assert last_round.tool_calls == ()  # …and are not recorded
    done = events[-1]
    assert isinstance(done, LoopDone) and done.reason == "max_rounds"


async def test_loop_truncated_arguments_at_length_limit(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(
        tool_call_reply([("echo", '{"text": "a long argum')], finish_reason="length"),
        text_reply("ok"),
    )
    events = await run(client, [tool("echo", echo)])
    finished = only(events, ToolFinished)[0]
    assert finished.status == "error" and "output token limit" in finished.result


async def test_loop_text_cut_at_length_limit_says_so(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(text_reply("An answer that got cu", finish_reason="length"))
    done = (await run(client))[-1]
    assert isinstance(done, LoopDone) and done.reason == "length" and "cut off" in (done.note or "")


async def test_loop_missing_usage_is_estimated(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(text_reply("no usage here", usage=None))
    usage = only(await run(client), UsageReported)[0]
    assert usage.usage.estimated and usage.usage.prompt_tokens > 0
    assert usage.usage.completion_tokens > 0


async def test_loop_error_before_output_is_not_partial(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(http_error(400, message="bad thing"))
    events = await run(client)
    assert kinds(events) == ["RoundStarted", "UsageReported", "LoopError"]
    usage = only(events, UsageReported)[0]
    assert usage.status == "error" and usage.usage.total_tokens == 0
    failure = events[-1]
    assert isinstance(failure, LoopError) and not failure.partial
    assert isinstance(failure.error, LLMBadRequestError)


async def test_loop_error_after_output_keeps_the_partial_text(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(cut_after(4, text_reply("abcdefghijklmnop", chunk_size=2)))
    events = await run(client)
    failure = events[-1]
    assert isinstance(failure, LoopError) and failure.partial
    partial = only(events, RoundFinished)[0]
    assert partial.text and "abcdefghijklmnop".startswith(partial.text)
    usage = only(events, UsageReported)[0]
    assert usage.status == "error" and usage.usage.estimated and usage.usage.completion_tokens > 0


async def test_loop_stop_during_stream_ends_at_once(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(text_reply("word " * 200, chunk_size=5, delay=0.05))
    stop = asyncio.Event()
    events: list[LoopEvent] = []

    async def stop_soon() -> None:
        await asyncio.sleep(0.3)  # the member presses Stop while text is still streaming
        stop.set()

    async def collect() -> None:
        async for event in run_tool_loop(
            client, request(), ToolRegistry(), ToolContext(), stop=stop
        ):
            events.append(event)

    async with asyncio.timeout(2):
        await asyncio.gather(collect(), stop_soon())
    assert len(only(events, TextDelta)) >= 2
    assert kinds(events)[-3:] == ["UsageReported", "RoundFinished", "LoopDone"]
    done = events[-1]
    assert isinstance(done, LoopDone) and done.reason == "stopped"
    assert done.text and len(done.text) < len("word " * 200)
    usage = only(events, UsageReported)[0]
    assert usage.status == "stopped" and usage.usage.estimated
    await asyncio.wait_for(llm.disconnected.wait(), 2)  # the stream was closed, not drained


async def test_loop_stop_during_tools_cancels_them(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(tool_call_reply([("sleepy", {}), ("echo", {})]))
    stop = asyncio.Event()
    events: list[LoopEvent] = []
    registry = ToolRegistry([tool("sleepy", sleepy), tool("echo", echo)])
    async with asyncio.timeout(2):
        async for event in run_tool_loop(client, request(), registry, ToolContext(), stop=stop):
            events.append(event)
            if isinstance(event, ToolFinished) and event.call.name == "echo":
                stop.set()
    finished = {f.call.name: f.status for f in only(events, ToolFinished)}
    assert finished == {"echo": "ok", "sleepy": "cancelled"}
    assert len(only(events, ToolStarted)) == len(only(events, ToolFinished)) == 2
    done = events[-1]
    assert isinstance(done, LoopDone) and done.reason == "stopped"
    assert len(llm.chat_requests) == 1  # no further call after the stop


async def test_loop_hard_cancel_leaves_no_tool_running(
    llm: FakeLLMServer, client: LLMClient
) -> None:
    llm.enqueue(tool_call_reply([("sleepy", {})]))
    tool_cancelled = asyncio.Event()

    async def tracked(ctx: ToolContext, **_: Any) -> str:
        try:
            await asyncio.sleep(3600)
        finally:
            tool_cancelled.set()
        return "never"

    async def consume() -> None:
        registry = ToolRegistry([tool("sleepy", tracked)])
        async for _ in run_tool_loop(client, request(), registry, ToolContext()):
            pass

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.3)  # the tool is running by now
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.wait_for(tool_cancelled.wait(), 1)


async def test_loop_every_round_reports_usage_once(llm: FakeLLMServer, client: LLMClient) -> None:
    llm.enqueue(
        tool_call_reply([("echo", {"i": 1})]),
        tool_call_reply([("echo", {"i": 2})]),
        text_reply("end"),
    )
    events = await run(client, [tool("echo", echo)])
    rounds = [e.round for e in only(events, RoundStarted)]
    assert rounds == [1, 2, 3]
    assert [u.round for u in only(events, UsageReported)] == rounds
