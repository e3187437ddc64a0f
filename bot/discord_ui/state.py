"""The state of one answer as it streams, built by folding the tool loop's events.

`AnswerState.apply(event, now)` is the only way loop events get in; `render.render` reads the
result. The state holds plain facts (texts, times, counts) and no Discord formatting, so the
same state can be rendered in any reasoning mode at any moment.

Answer text: every round's text is kept, in round order, and `answer_text` joins the non-empty
ones with a blank line. Models often say "Let me check…" in round 1 and answer in round 2;
dropping round 1 would make the message jump backwards while it streams, and keeping it reads
naturally because the tool lines are shown above the whole answer.

Reasoning time is the sum of the intervals during which reasoning deltas were arriving: an
interval opens on the first reasoning delta and closes on the first event of another kind.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.answer_text import join_rounds
from bot.errors import GENERIC_MESSAGE, UserFacingError
from bot.llm.types import (
    LoopDone,
    LoopError,
    LoopEvent,
    ModelSwitched,
    ReasoningDelta,
    RoundFinished,
    RoundStarted,
    SourcesCited,
    TextDelta,
    TextWasReasoning,
    ToolCall,
    ToolCallProgress,
    ToolFinished,
    ToolStarted,
    UsageReported,
)
from bot.vocabulary import AnswerStatus

log = logging.getLogger(__name__)

ToolLineStatus = Literal["pending", "running", "ok", "error", "timeout", "refused", "cancelled"]

Citer = Callable[[str], Sequence[tuple[str, str]]]
Summarizer = Callable[[Mapping[str, Any]], str]
# Prices one call: (model, usage) → micro-dollars, or None when the model has no known price.

# Only the end of the reasoning is ever shown; keep a bounded tail, not the whole text.
_REASONING_TAIL = 2000
_RESULT_KEEP = 500

_DONE_NOTES: dict[str, str] = {
    "max_rounds": "Stopped after the maximum number of tool rounds.",
    "length": "The answer was cut off at the model's length limit.",
    "content_filter": "The provider's content filter stopped the answer.",
}


@dataclass
class ToolLine:
    """One tool call as shown above the answer. `label` is the short argument text."""

    round: int
    name: str
    call_id: str | None = None
    label: str = ""
    result: str = ""
    status: ToolLineStatus = "pending"
    started_at: float | None = None
    duration_s: float | None = None

    @property
    def finished(self) -> bool:
        return self.status not in ("pending", "running")


@dataclass
class AnswerState:
    """Everything needed to draw one answer; mutated only through its methods."""

    answer_id: str = ""
    model: str | None = None
    summarize: Mapping[str, Summarizer] = field(default_factory=dict)
    # Per tool, what its results cite as (title, URL); listed under the answer.
    cite: Mapping[str, Citer] = field(default_factory=dict)
    sources: list[tuple[str, str]] = field(default_factory=list)

    status: AnswerStatus = "streaming"
    error_text: str | None = None
    error_id: str | None = None
    notes: list[str] = field(default_factory=list)
    history_note: str | None = None

    tools: list[ToolLine] = field(default_factory=list)

    reasoning_seen: bool = False
    reasoning_excerpt: str = ""  # tail of the current round's reasoning
    reasoning_started_at: float | None = None  # open interval, None when closed
    _reasoning_closed_s: float = field(default=0.0, init=False, repr=False)

    tokens_in: int = 0
    tokens_out: int = 0
    cost_micros: int | None = None
    estimated: bool = False
    calls_reported: int = 0
    _unpriced: bool = field(default=False, init=False, repr=False)

    # Whether the finished answer offers Regenerate (only the latest answer of a conversation).
    regenerable: bool = True
    # Nothing from the model for this long (no token, no tool running): say it is still awaited.
    waiting_notice_s: float = 15.0
    _model_heard_at: float | None = field(default=None, init=False, repr=False)

    _round: int = field(default=0, init=False, repr=False)
    _texts: dict[int, str] = field(default_factory=dict, init=False, repr=False)
    _streamed: dict[tuple[int, int], ToolLine] = field(default_factory=dict, init=False, repr=False)
    _last_now: float = field(default=0.0, init=False, repr=False)

    # --- reading ---------------------------------------------------------------------------

    @property
    def is_final(self) -> bool:
        return self.status != "streaming"

    @property
    def reasoning_active(self) -> bool:
        return self.reasoning_started_at is not None

    def reasoning_seconds(self, now: float) -> float:
        """Total time spent reasoning, counting an open interval up to `now`."""
        total = self._reasoning_closed_s
        if self.reasoning_started_at is not None:
            total += max(0.0, now - self.reasoning_started_at)
        return total

    @property
    def answer_text(self) -> str:
        """All rounds' text in order, blank-line separated, outer blank lines trimmed."""
        return join_rounds(self._texts[r] for r in sorted(self._texts))

    # --- folding events --------------------------------------------------------------------

    def waiting_for_model_s(self, now: float) -> float | None:
        """How long the model has been silent while an answer waits on it, or None."""
        if self.is_final or self._model_heard_at is None:
            return None
        if any(not line.finished and line.started_at is not None for line in self.tools):
            return None  # a tool is working, not the model
        return max(0.0, now - self._model_heard_at)

    def apply(self, event: LoopEvent, now: float) -> None:
        self._last_now = now
        # Any event of a model call (its start included) means the model was heard from now.
        if not isinstance(event, ToolStarted | ToolFinished):
            self._model_heard_at = now
        if isinstance(event, ReasoningDelta):
            self._on_reasoning(event.text, now)
            return
        if isinstance(event, TextWasReasoning):
            # Thinking written inline (a bare `</think>` arrived): what was shown as the
            # answer of this round was the model thinking.
            thought = self._texts.pop(self._round, "")
            if thought:
                self._on_reasoning(thought, now)
            return
        if isinstance(event, ModelSwitched):
            note = (
                f"↪ {event.used} answered: {event.requested} failed ({event.reason.rstrip('.')})."
            )
            if note not in self.notes:
                self.notes.append(note)
            self.model = event.used
            return
        if isinstance(event, SourcesCited):
            # The provider's own web search: listed like the sources of a search tool.
            self.add_sources(event.sources)
            return
        # Any other event means the model stopped thinking (for now).
        self._close_reasoning(now)
        if isinstance(event, TextDelta):
            self._texts[self._round] = self._texts.get(self._round, "") + event.text
        elif isinstance(event, ToolCallProgress):
            self._on_progress(event.index, event.name)
        elif isinstance(event, RoundStarted):
            self._round = event.round
            self.reasoning_excerpt = ""
            if self.model is None:
                self.model = event.request.model
        elif isinstance(event, RoundFinished):
            self._on_round_finished(event)
        elif isinstance(event, ToolStarted):
            line = self._line_for(event.round, event.call)
            line.status = "running"
            line.started_at = now
        elif isinstance(event, ToolFinished):
            line = self._line_for(event.round, event.call)
            line.status = event.status
            line.result = event.result[:_RESULT_KEEP]
            line.duration_s = event.duration_s
            self._cite(event)
        elif isinstance(event, UsageReported):
            self._on_usage(event)
        elif isinstance(event, LoopDone):
            self._on_done(event, now)
        elif isinstance(event, LoopError):
            if not self.is_final:
                self.status = "error"
                self.error_text = _user_text(event.error)
            self._finish(now)

    def mark_interrupted(self) -> None:
        """The bot restarted while this answer was streaming."""
        if not self.is_final:
            self.status = "interrupted"
        self._finish(self._last_now)

    def mark_error(self, user_message: str, error_id: str | None = None) -> None:
        """Show `user_message` (safe text) and, for internal errors, the id that is in the log."""
        self.status = "error"
        self.error_text = user_message
        self.error_id = error_id
        self._finish(self._last_now)

    def add_cost(self, cost_micros: int | None, *, estimated: bool) -> None:
        """Add the billed cost of one call (the meter's figure, the only source of costs);
        None (a model without a price) makes the answer's cost unknown for good."""
        self.estimated = self.estimated or estimated
        if cost_micros is None:
            self._unpriced = True
            self.cost_micros = None
        elif not self._unpriced:
            self.cost_micros = (self.cost_micros or 0) + cost_micros

    # --- internals -------------------------------------------------------------------------

    def _on_reasoning(self, text: str, now: float) -> None:
        if not text:
            return
        if not self.reasoning_seen and not text.strip():
            return  # some providers send whitespace before deciding not to reason
        self.reasoning_seen = True
        if self.reasoning_started_at is None:
            self.reasoning_started_at = now
        self.reasoning_excerpt = (self.reasoning_excerpt + text)[-_REASONING_TAIL:]

    def _close_reasoning(self, now: float) -> None:
        if self.reasoning_started_at is not None:
            self._reasoning_closed_s += max(0.0, now - self.reasoning_started_at)
            self.reasoning_started_at = None

    def _round_lines(self, round_: int) -> list[ToolLine]:
        return [line for line in self.tools if line.round == round_]

    def _on_progress(self, index: int, name: str) -> None:
        # Providers number streamed tool calls in their own way; the k-th distinct index of a
        # round is the k-th call, which RoundFinished later confirms by position.
        key = (self._round, index)
        line = self._streamed.get(key)
        if line is None:
            line = ToolLine(round=self._round, name=name or "tool")
            self._streamed[key] = line
            self.tools.append(line)
        elif name and line.call_id is None:
            line.name = name

    def _on_round_finished(self, event: RoundFinished) -> None:
        if event.text and event.text != self._texts.get(event.round, ""):
            self._texts[event.round] = event.text  # the assembled text is authoritative
        if event.reasoning and not self.reasoning_seen and event.reasoning.strip():
            self.reasoning_seen = True
            self.reasoning_excerpt = event.reasoning[-_REASONING_TAIL:]
        lines = self._round_lines(event.round)
        for position, call in enumerate(event.tool_calls):
            if position < len(lines):
                line = lines[position]
                line.call_id, line.name = call.id, call.name
                line.label = self._label(call)
            else:
                self.tools.append(self._new_line(event.round, call))
        # Streamed fragments that did not become calls were never real; drop them.
        extra = lines[len(event.tool_calls) :]
        if extra:
            self.tools = [line for line in self.tools if all(line is not x for x in extra)]

    def _line_for(self, round_: int, call: ToolCall) -> ToolLine:
        lines = self._round_lines(round_)
        for line in lines:
            if line.call_id == call.id:
                return line
        for line in lines:
            if line.call_id is None and line.name == call.name:
                line.call_id = call.id
                line.label = self._label(call)
                return line
        line = self._new_line(round_, call)
        self.tools.append(line)
        return line

    def _new_line(self, round_: int, call: ToolCall) -> ToolLine:
        return ToolLine(round=round_, name=call.name, call_id=call.id, label=self._label(call))

    def _label(self, call: ToolCall) -> str:
        try:
            parsed = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            return call.arguments
        summarize = self.summarize.get(call.name)
        if summarize is not None and isinstance(parsed, Mapping):
            try:
                return summarize(parsed)
            except Exception:
                # A label is cosmetic: never let a tool's summarizer break the answer.
                log.warning("summarize failed for tool %s", call.name, exc_info=True)
        return _default_label(parsed)

    def _cite(self, event: ToolFinished) -> None:
        cite = self.cite.get(event.call.name)
        if cite is None or event.status != "ok":
            return
        try:
            found = cite(event.result)
        except Exception:
            log.warning("citations of tool %s failed", event.call.name, exc_info=True)
            return
        self.add_sources(found)

    def add_sources(self, found: Iterable[tuple[str, str]]) -> None:
        """Sources for the answer's footer, each URL once, in the order first named."""
        known = {url for _, url in self.sources}
        for title, url in found:
            if url not in known:
                known.add(url)
                self.sources.append((title, url))

    def _on_usage(self, event: UsageReported) -> None:
        usage = event.usage
        self.model = event.model or self.model
        self.tokens_in += usage.prompt_tokens
        self.tokens_out += usage.completion_tokens
        self.estimated = self.estimated or usage.estimated
        self.calls_reported += 1

    def _on_done(self, event: LoopDone, now: float) -> None:
        if not self._texts and event.text:
            self._texts[self._round] = event.text
        if not self.is_final:
            self.status = "stopped" if event.reason == "stopped" else "complete"
        note = event.note or _DONE_NOTES.get(event.reason)
        if note and note not in self.notes:
            self.notes.append(note)
        self._finish(now)

    def _finish(self, now: float) -> None:
        self._close_reasoning(now)
        for line in self.tools:
            if not line.finished:
                if line.started_at is not None:
                    line.duration_s = max(0.0, now - line.started_at)
                line.status = "cancelled"


def _user_text(error: Exception) -> str:
    # The loop reports model endpoint failures, which all carry their own text; describing
    # (and logging) anything else is the chat service's part, not a renderer's.
    if isinstance(error, UserFacingError):
        return error.user_message
    return GENERIC_MESSAGE


def _default_label(parsed: Any) -> str:
    """`{"url": "x"}` → `x`; several arguments → `a=1, b=two`; anything else compact JSON."""
    if isinstance(parsed, Mapping):
        if not parsed:
            return ""
        if len(parsed) == 1:
            return _scalar(next(iter(parsed.values())))
        return ", ".join(f"{key}={_scalar(value)}" for key, value in parsed.items())
    return _scalar(parsed)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
