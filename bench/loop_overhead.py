"""Tool-loop overhead per round, I/O excluded.

`run_tool_loop` is driven by an in-memory `ChatStreamer` that yields pre-built events at once
(a few text deltas, a tool-call progress, the `Completion`), with a trivial tool, so what is
timed is the loop's own work per round: request building, event plumbing, the interrupter's
guards, argument parsing, the identical-call check, running the tool task and history growth.
Each answer makes `ROUNDS_PER_ANSWER` tool rounds and a final text round; every round counts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from bench.results import Result, Target, median, time_async
from bot.llm.loop import run_tool_loop
from bot.llm.tools import Tool, ToolContext, ToolRegistry
from bot.llm.types import (
    ChatMessage,
    ChatRequest,
    Completion,
    LoopDone,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallProgress,
    Usage,
)

GROUP = "engine"
ROUNDS_PER_ANSWER = 10  # tool rounds; plus one final text round
_USAGE = Usage(prompt_tokens=1200, completion_tokens=40)


class InstantStreamer:
    """Plays pre-built rounds: tool calls with distinct arguments, then a text answer."""

    def __init__(self, tool_rounds: int) -> None:
        self._rounds: list[tuple[StreamEvent, ...]] = []
        for n in range(tool_rounds):
            call = ToolCall(f"call_{n}", "echo", json.dumps({"n": n}))
            self._rounds.append(
                (
                    TextDelta("Let me "),
                    TextDelta("check."),
                    ToolCallProgress(0, "echo"),
                    Completion("Let me check.", "", (call,), "tool_calls", _USAGE, "fake-model"),
                )
            )
        self._rounds.append(
            (
                TextDelta("The answer "),
                TextDelta("is 42."),
                Completion("The answer is 42.", "", (), "stop", _USAGE, "fake-model"),
            )
        )
        self._next = 0

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        events = self._rounds[self._next % len(self._rounds)]
        self._next += 1
        return _play(events)


async def _play(events: tuple[StreamEvent, ...]) -> AsyncIterator[StreamEvent]:
    for event in events:
        yield event


async def _echo(ctx: ToolContext, n: int) -> str:
    return f"echo {n}"


TOOLS = ToolRegistry(
    [
        Tool(
            "echo",
            "Returns its argument.",
            {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
            _echo,
        )
    ]
)


async def answer(streamer: InstantStreamer, request: ChatRequest) -> int:
    """One whole answer; returns its number of rounds."""
    async for event in run_tool_loop(
        streamer, request, TOOLS, ToolContext(conversation_id=1), max_tool_rounds=1_000
    ):
        if isinstance(event, LoopDone):
            if event.reason != "complete":
                raise RuntimeError(f"the answer ended as {event.reason}")
            return event.rounds
    raise RuntimeError("the loop ended without LoopDone")


async def run(quick: bool) -> list[Result]:
    answers = 5 if quick else 100
    repetitions = 1 if quick else 5
    request = ChatRequest(
        "fake-model", [ChatMessage("system", "Be brief."), ChatMessage("user", "hi")]
    )
    rounds = 0

    async def all_answers() -> None:
        nonlocal rounds
        streamer = InstantStreamer(ROUNDS_PER_ANSWER)
        rounds = 0
        for _ in range(answers):
            rounds += await answer(streamer, request)

    await all_answers()  # warm-up
    seconds = [await time_async(all_answers) for _ in range(repetitions)]
    return [
        Result(
            GROUP,
            "tool-loop overhead per round",
            median(seconds) / rounds * 1e6,
            "µs",
            Target(1000.0),
            note=(
                f"{rounds:,} rounds ({answers} answers x {ROUNDS_PER_ANSWER} tool rounds + 1), "
                f"in-memory streamer, median of {repetitions}"
            ),
        )
    ]
