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

Tool calls of one round run concurrently (`bot.llm.tool_runs`); their failures become error
results for the model rather than ending the answer. After `max_tool_rounds` rounds that ran
tools, one more call is made with `tool_choice: "none"` so the model answers with what it has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from bot.errors import LLMError
from bot.llm.interrupt import Interrupted, Interrupter
from bot.llm.tool_runs import ToolOutcome, run_tools
from bot.llm.tools import ToolContext, ToolRegistry, images_of
from bot.llm.types import (
    Artefacts,
    ChatMessage,
    ChatRequest,
    Completion,
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
    Usage,
    UsageReported,
)
from bot.llm.usage import estimate_usage

__all__ = ["ChatStreamer", "run_tool_loop"]


DEFAULT_MAX_TOOL_ROUNDS = 8


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
            outcomes: dict[str, ToolOutcome] = {}
            async for tool_event in run_tools(
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
                    outcomes[tool_event.call.id] = ToolOutcome(
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
