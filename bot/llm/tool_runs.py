"""Running one round's tool calls: concurrently, each under its own timeout, yielding
`ToolStarted` for every call and then `ToolFinished` as each completes (in call order among
those that finish together).

Errors, timeouts, malformed arguments, unknown tools and a third identical call all become
error results for the model rather than ending the answer; a Stop cancels the calls still
running, which finish as "cancelled". Used by `bot.llm.loop.run_tool_loop`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.llm.interrupt import Interrupted, Interrupter
from bot.llm.tools import Tool, ToolContext, ToolError, ToolRegistry
from bot.llm.types import FinishReason, ToolCall, ToolFinished, ToolStarted, ToolStatus

log = logging.getLogger(__name__)

# The third call with identical arguments is refused: twice can be a legitimate retry.
MAX_IDENTICAL_CALLS = 2
# Tool output beyond this many characters is cut before it goes back to the model.
MAX_TOOL_RESULT_CHARS = 20_000

STOPPED_TOOL_RESULT = "[cancelled: the member stopped the answer]"


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What one tool call gave the model: its result text, status and run time."""

    result: str
    status: ToolStatus
    duration_s: float


async def run_tools(
    round_no: int,
    calls: tuple[ToolCall, ...],
    tools: ToolRegistry,
    context: ToolContext,
    call_counts: dict[tuple[str, str], int],
    finish_reason: FinishReason,
    interrupter: Interrupter,
    clock: Callable[[], float],
) -> AsyncIterator[ToolStarted | ToolFinished]:
    """Start every call of the round concurrently; yield each result as it completes."""
    tasks_by_call: dict[asyncio.Task[ToolOutcome], ToolCall] = {}
    for tool_call in calls:
        yield ToolStarted(round_no, tool_call)
        coro = _run_one(tool_call, tools, context, call_counts, finish_reason, clock)
        task = asyncio.ensure_future(coro)
        tasks_by_call[task] = tool_call
    pending = set(tasks_by_call)
    try:
        while pending:
            try:
                done, pending = await interrupter.guard(
                    asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                )
            except Interrupted:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for task in _in_call_order(pending, tasks_by_call):
                    yield ToolFinished(
                        round_no, tasks_by_call[task], STOPPED_TOOL_RESULT, "cancelled", 0.0
                    )
                return
            for task in _in_call_order(done, tasks_by_call):
                outcome = task.result()
                yield ToolFinished(
                    round_no,
                    tasks_by_call[task],
                    outcome.result,
                    outcome.status,
                    outcome.duration_s,
                )
    finally:
        # A hard cancellation (or the consumer closing us) must not leave tools running.
        for task in pending:
            task.cancel()


def _in_call_order(
    tasks: set[asyncio.Task[ToolOutcome]], order: dict[asyncio.Task[ToolOutcome], ToolCall]
) -> list[asyncio.Task[ToolOutcome]]:
    return [task for task in order if task in tasks]


async def _run_one(
    call: ToolCall,
    tools: ToolRegistry,
    context: ToolContext,
    call_counts: dict[tuple[str, str], int],
    finish_reason: FinishReason,
    clock: Callable[[], float],
) -> ToolOutcome:
    started = clock()

    def outcome(result: str, status: ToolStatus) -> ToolOutcome:
        if len(result) > MAX_TOOL_RESULT_CHARS:
            result = result[:MAX_TOOL_RESULT_CHARS] + "\n[output cut: too long]"
        return ToolOutcome(result, status, max(0.0, clock() - started))

    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        return outcome(f"Error: unknown tool {call.name!r}. Available tools: {available}.", "error")
    arguments, problem = _parse_arguments(call.arguments, finish_reason)
    if problem is not None:
        return outcome(f"Error: {problem}", "error")
    key = (call.name, json.dumps(arguments, sort_keys=True, ensure_ascii=False))
    call_counts[key] = call_counts.get(key, 0) + 1
    if call_counts[key] > MAX_IDENTICAL_CALLS:
        return outcome(
            "Refused: this exact call was already made twice in this answer. "
            "Use the earlier results or change the arguments.",
            "refused",
        )
    try:
        async with asyncio.timeout(tool.timeout_s):
            result = await _invoke(tool, context, arguments)
    except TimeoutError:
        return outcome(f"Error: {call.name} timed out after {tool.timeout_s:g} s.", "timeout")
    except ToolError as exc:
        return outcome(f"Error: {exc}", "error")
    except TypeError as exc:
        # Wrong or missing keyword arguments from the model land here.
        log.info("tool %s rejected its arguments: %s", call.name, exc)
        return outcome(f"Error: bad arguments for {call.name}: {exc}", "error")
    except Exception:
        log.exception("tool %s failed", call.name)
        return outcome(f"Error: {call.name} failed unexpectedly.", "error")
    return outcome(result if isinstance(result, str) else str(result), "ok")


async def _invoke(tool: Tool, context: ToolContext, arguments: Mapping[str, Any]) -> str:
    return await tool.handler(context, **arguments)


def _parse_arguments(raw: str, finish_reason: FinishReason) -> tuple[dict[str, Any], str | None]:
    text = raw.strip() or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if finish_reason == "length":
            return {}, "the arguments were cut off because the output token limit was reached."
        return {}, f"the arguments are not valid JSON ({exc.msg} at position {exc.pos})."
    if not isinstance(value, dict):
        return {}, "the arguments must be a JSON object."
    return value, None
