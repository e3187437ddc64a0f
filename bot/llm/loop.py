"""The tool loop: one answer = model calls and tool runs until the model answers in text.

`run_tool_loop` is an async generator of `LoopEvent`s. Per round it yields

    RoundStarted → ReasoningDelta/TextDelta/ToolCallProgress… → UsageReported → RoundFinished
    → ToolStarted… → ToolFinished…                       (only when the model called tools)

and finally exactly one `LoopDone` or `LoopError`. Guarantees a consumer can build a record on:
- every `RoundStarted` is followed by exactly one `UsageReported` (estimated when the provider
  sent no usage, e.g. a stopped or failed stream), so every call can be billed;
- every `ToolStarted` is followed by exactly one `ToolFinished`, and the tool calls of a
  `RoundFinished` are exactly the calls that get a `ToolStarted`, so history stays paired;
- a Stop (the `stop` event) ends the answer at once, keeping what was produced
  (`LoopDone(reason="stopped")`); see `bot.llm.interrupt` for how it interrupts awaits.

A hard cancellation of the consumer's task (shutdown) propagates as usual; then the consumer
owns the record (see `bot.services`), with a round that has no `UsageReported` to estimate.

Tool calls of one round run concurrently, each under its own timeout. Errors, timeouts,
malformed arguments, unknown tools and a third identical call all become error results for the
model rather than ending the answer. After `max_tool_rounds` rounds that ran tools, one more
call is made with `tool_choice: "none"` so the model answers with what it has.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.errors import LLMError
from bot.llm.interrupt import Interrupted, Interrupter
from bot.llm.tools import Tool, ToolContext, ToolError, ToolRegistry, images_of
from bot.llm.types import (
    Artefacts,
    ChatMessage,
    ChatRequest,
    Completion,
    FinishReason,
    LoopDone,
    LoopError,
    LoopEvent,
    ModelSwitched,
    ReasoningDelta,
    RoundFinished,
    RoundStarted,
    StreamEvent,
    TextDelta,
    TextWasReasoning,
    ToolCall,
    ToolFinished,
    ToolStarted,
    ToolStatus,
    Usage,
    UsageReported,
)
from bot.llm.usage import estimate_usage

log = logging.getLogger(__name__)

DEFAULT_MAX_TOOL_ROUNDS = 8
# The third call with identical arguments is refused: twice can be a legitimate retry.
MAX_IDENTICAL_CALLS = 2
# Tool output beyond this many characters is cut before it goes back to the model.
MAX_TOOL_RESULT_CHARS = 20_000

STOPPED_TOOL_RESULT = "[cancelled: the member stopped the answer]"


class ChatStreamer(Protocol):
    """What the loop needs of an LLM client (`bot.llm.client.LLMClient` is one)."""

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...


@dataclass(slots=True)
class _RoundOutput:
    text: list[str]
    reasoning: list[str]

    def joined(self) -> tuple[str, str]:
        return "".join(self.text), "".join(self.reasoning)

    def text_was_reasoning(self) -> None:
        self.reasoning.extend(self.text)
        self.text.clear()


@dataclass(frozen=True, slots=True)
class _ToolOutcome:
    result: str
    status: ToolStatus
    duration_s: float


async def run_tool_loop(
    client: ChatStreamer,
    request: ChatRequest,
    tools: ToolRegistry,
    context: ToolContext,
    *,
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
    stop: asyncio.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[LoopEvent, None]:
    """Run one answer. `request.messages` is the whole history; its `tools` are replaced by
    the registry's specs."""
    interrupter = Interrupter(stop)
    interrupter.start()
    messages = list(request.messages)
    specs = tools.specs()
    call_counts: dict[tuple[str, str], int] = {}
    tool_rounds = 0
    round_no = 0
    shown_output = False
    # The model that answers: a fallback that took over stays for the rest of the answer.
    model = request.model
    try:
        while True:
            round_no += 1
            forced_answer = tool_rounds >= max_tool_rounds
            call = replace(
                request,
                model=model,
                messages=tuple(messages),
                tools=tuple(specs),
                tool_choice=("none" if forced_answer else None) if specs else None,
            )
            yield RoundStarted(round_no, call)

            output = _RoundOutput([], [])
            completion: Completion | None = None
            stream = client.stream(call)
            try:
                iterator = aiter(stream)
                while True:
                    event = await interrupter.guard(anext(iterator, None))
                    if event is None:
                        break
                    if isinstance(event, Completion):
                        completion = event
                        continue
                    if isinstance(event, TextDelta):
                        output.text.append(event.text)
                        shown_output = True
                    elif isinstance(event, ReasoningDelta):
                        output.reasoning.append(event.text)
                        shown_output = True
                    elif isinstance(event, TextWasReasoning):
                        output.text_was_reasoning()
                    elif isinstance(event, ModelSwitched):
                        model = event.used
                        call = replace(call, model=model)
                    yield event
            except Interrupted:
                text, reasoning = output.joined()
                yield UsageReported(
                    round_no, call.model, estimate_usage(call, text, reasoning, ()), "stopped"
                )
                yield RoundFinished(round_no, text, reasoning, (), "other")
                yield LoopDone("stopped", text, rounds=round_no)
                return
            except LLMError as error:
                text, reasoning = output.joined()
                yield UsageReported(round_no, call.model, _failed_usage(call, output), "error")
                if text or reasoning:
                    yield RoundFinished(round_no, text, reasoning, (), "other")
                error.partial = error.partial or shown_output
                yield LoopError(error, partial=error.partial)
                return
            finally:
                await _close(stream)

            if completion is None:  # the client promises a Completion; never trust it blindly
                text, reasoning = output.joined()
                completion = Completion(text, reasoning, (), "other", None)
            usage = completion.usage or estimate_usage(
                call, completion.text, completion.reasoning, completion.tool_calls
            )
            # Billed to the model reference that answered (a fallback's, after a switch).
            billed = completion.source or call.model
            yield UsageReported(round_no, billed, usage, "completed")

            calls = _unique_ids(completion.tool_calls, round_no)
            artefacts = _artefacts(completion, call.model, calls)
            if calls and forced_answer:
                # The model ignored tool_choice "none": its calls are dropped, never run, and
                # never recorded, so the history stays valid.
                yield RoundFinished(
                    round_no,
                    completion.text,
                    completion.reasoning,
                    (),
                    "other",
                    _artefacts(completion, call.model, ()),
                )
                yield LoopDone(
                    "max_rounds",
                    completion.text,
                    note=f"Stopped after {max_tool_rounds} rounds of tool use.",
                    rounds=round_no,
                )
                return
            yield RoundFinished(
                round_no,
                completion.text,
                completion.reasoning,
                calls,
                completion.finish_reason,
                artefacts,
            )
            if not calls:
                yield _done(completion, round_no, forced_answer, max_tool_rounds)
                return

            tool_rounds += 1
            messages.append(
                ChatMessage("assistant", completion.text or None, tuple(calls), artefacts=artefacts)
            )
            outcomes: dict[str, _ToolOutcome] = {}
            async for tool_event in _run_tools(
                round_no,
                calls,
                tools,
                context,
                call_counts,
                completion.finish_reason,
                interrupter,
                clock,
            ):
                if isinstance(tool_event, ToolFinished):
                    outcomes[tool_event.call.id] = _ToolOutcome(
                        tool_event.result, tool_event.status, tool_event.duration_s
                    )
                yield tool_event
            for tool_call in calls:
                result = outcomes[tool_call.id].result
                messages.append(
                    ChatMessage("tool", result, tool_call_id=tool_call.id, images=images_of(result))
                )
            if any(o.status == "cancelled" for o in outcomes.values()) and interrupter.requested:
                yield LoopDone("stopped", completion.text, rounds=round_no)
                return
    finally:
        interrupter.close()


def _done(completion: Completion, round_no: int, forced: bool, max_rounds: int) -> LoopDone:
    if completion.finish_reason == "length":
        note = "The answer reached the output token limit and was cut off."
        return LoopDone("length", completion.text, note=note, rounds=round_no)
    if completion.finish_reason == "content_filter":
        note = "The provider's content filter stopped the answer."
        return LoopDone("content_filter", completion.text, note=note, rounds=round_no)
    if forced:
        note = f"Stopped using tools after {max_rounds} rounds."
        return LoopDone("max_rounds", completion.text, note=note, rounds=round_no)
    return LoopDone("complete", completion.text, rounds=round_no)


def _artefacts(
    completion: Completion, requested: str, calls: tuple[ToolCall, ...]
) -> Artefacts | None:
    """The provider state of this round, tagged with the model that produced it. A round
    with tool calls always has one, if empty: another model must know it was not its own
    (see `bot.llm.foreign`)."""
    if not calls and not completion.artefacts:
        return None
    return Artefacts(completion.source or requested, dict(completion.artefacts))


def _unique_ids(calls: tuple[ToolCall, ...], round_no: int) -> tuple[ToolCall, ...]:
    """Tool results are matched by id, so ids must be unique; some providers repeat or omit
    them. Duplicates get a fresh id (the model only needs the pairing to be consistent)."""
    seen: set[str] = set()
    fixed = []
    for position, call in enumerate(calls):
        if not call.id or call.id in seen:
            call = replace(call, id=f"call_r{round_no}_{position}")
        seen.add(call.id)
        fixed.append(call)
    return tuple(fixed)


def _failed_usage(call: ChatRequest, output: _RoundOutput) -> Usage:
    """A call that failed before producing anything is not billed by providers; one cut off
    mid-stream is, for the prompt and what it streamed."""
    text, reasoning = output.joined()
    if not text and not reasoning:
        return Usage(estimated=True)
    return estimate_usage(call, text, reasoning, ())


async def _close(stream: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


async def _run_tools(
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
    tasks_by_call: dict[asyncio.Task[_ToolOutcome], ToolCall] = {}
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
    tasks: set[asyncio.Task[_ToolOutcome]], order: dict[asyncio.Task[_ToolOutcome], ToolCall]
) -> list[asyncio.Task[_ToolOutcome]]:
    return [task for task in order if task in tasks]


async def _run_one(
    call: ToolCall,
    tools: ToolRegistry,
    context: ToolContext,
    call_counts: dict[tuple[str, str], int],
    finish_reason: FinishReason,
    clock: Callable[[], float],
) -> _ToolOutcome:
    started = clock()

    def outcome(result: str, status: ToolStatus) -> _ToolOutcome:
        if len(result) > MAX_TOOL_RESULT_CHARS:
            result = result[:MAX_TOOL_RESULT_CHARS] + "\n[output cut: too long]"
        return _ToolOutcome(result, status, max(0.0, clock() - started))

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
