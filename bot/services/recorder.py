"""Persisting an answer as it happens: loop events in, ordered steps and a final status out.

Steps are final per round, not per delta: reasoning and text of a round when the round
finishes, each tool call with it, each tool result the moment it arrives. While a round
streams, a `StreamLog` (when given) saves its reasoning and text so far as draft steps of that
round, at most one flush interval behind, and the round's final write replaces them. So at any
instant the stored answer is one of: rounds fully recorded, plus the streaming round as of the
last flush, or (while tools run) calls whose results are still missing. History rebuilding
closes such calls, so a crash at any point leaves a record the model can continue from, with
the words members already saw.

A Stop reaches us as `LoopDone(reason="stopped")`; a hard cancellation (shutdown) as
`abandon()`, which saves the partial round and marks the answer interrupted.

If PostgreSQL is gone when the answer ends (`DatabaseUnavailableError`), its last round and
final status wait in the database's `Outage` and are written, as members saw them, once the
server is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from bot.answer_text import join_rounds
from bot.errors import DatabaseUnavailableError
from bot.llm.citations import CITED_SOURCES
from bot.llm.types import (
    LoopDone,
    LoopError,
    LoopEvent,
    ReasoningDelta,
    RoundFinished,
    RoundStarted,
    SourcesCited,
    TextDelta,
    TextWasReasoning,
    ToolFinished,
)
from bot.storage.messages import MessageRepository, NewStep
from bot.storage.models import RoundArtefacts
from bot.storage.outage import Outage
from bot.storage.stream_log import DraftHandle, RoundDraft, StreamLog
from bot.vocabulary import AnswerStatus

log = logging.getLogger(__name__)


class AnswerRecorder:
    def __init__(
        self,
        messages: MessageRepository,
        answer_id: int,
        *,
        drafts: StreamLog | None = None,
        outage: Outage | None = None,
    ) -> None:
        self._messages = messages
        self._outage = outage
        self._answer_id = answer_id
        self._round = 0
        self._round_text: list[str] = []
        self._round_reasoning: list[str] = []
        self._round_recorded = True
        self._round_model = ""
        self._round_sources: list[tuple[str, str]] = []  # cited by the provider's web search
        self._texts: list[str] = []  # visible text of each recorded round
        self.finished: AnswerStatus | None = None
        self._finishing: asyncio.Future[None] | None = None
        self._draft: DraftHandle | None = (
            drafts.watch(answer_id, self._open_round) if drafts is not None else None
        )

    @property
    def answer_id(self) -> int:
        return self._answer_id

    @property
    def visible_text(self) -> str:
        """The answer as a member reads it: every round's text, in order."""
        parts = [*self._texts]
        if not self._round_recorded and self._round_text:
            parts.append("".join(self._round_text))
        return join_rounds(parts)

    def _open_round(self) -> RoundDraft | None:
        """The streaming round as it stands, for the `StreamLog` to save."""
        if self._round_recorded:
            return None
        return RoundDraft(self._round, "".join(self._round_reasoning), "".join(self._round_text))

    async def on_event(self, event: LoopEvent) -> None:
        if isinstance(event, TextDelta):
            self._round_text.append(event.text)
            if self._draft is not None:
                self._draft.changed()
        elif isinstance(event, ReasoningDelta):
            self._round_reasoning.append(event.text)
            if self._draft is not None:
                self._draft.changed()
        elif isinstance(event, TextWasReasoning):
            self._round_reasoning.extend(self._round_text)
            self._round_text = []
            if self._draft is not None:
                self._draft.changed()
        elif isinstance(event, SourcesCited):
            self._round_sources.extend(event.sources)
        elif isinstance(event, RoundStarted):
            self._round = event.round
            self._round_text, self._round_reasoning = [], []
            self._round_model, self._round_sources = event.request.model, []
            self._round_recorded = False
        elif isinstance(event, RoundFinished):
            await self._record_round(event)
        elif isinstance(event, ToolFinished):
            step = NewStep(
                round=event.round,
                kind="tool_result",
                content=event.result,
                tool_call_id=event.call.id,
                tool_name=event.call.name,
                tool_status=event.status,
                duration_ms=round(event.duration_s * 1000),
            )
            await self._messages.append_steps(self._answer_id, [step])
        elif isinstance(event, LoopDone):
            status: AnswerStatus = "stopped" if event.reason == "stopped" else "complete"
            await self._finish(status, None)
        elif isinstance(event, LoopError):
            await self._finish("error", getattr(event.error, "user_message", str(event.error)))

    async def _record_round(self, event: RoundFinished) -> None:
        steps: list[NewStep] = []
        if event.reasoning:
            steps.append(NewStep(round=event.round, kind="reasoning", content=event.reasoning))
        if event.text:
            steps.append(NewStep(round=event.round, kind="text", content=event.text))
        steps.extend(
            NewStep(
                round=event.round,
                kind="tool_call",
                content="",
                tool_call_id=call.id,
                tool_name=call.name,
                tool_arguments=call.arguments,
                tool_extra=_json(call.extra) if call.extra else None,
            )
            for call in event.tool_calls
        )
        artefacts = None
        if event.artefacts is not None or self._round_sources:
            # Sources cited by the provider's own web search are kept beside the provider's
            # state (the one JSON field of a round); replay removes them (`CITED_SOURCES`).
            source = event.artefacts.source if event.artefacts is not None else self._round_model
            data = dict(event.artefacts.data) if event.artefacts is not None else {}
            if self._round_sources:
                data[CITED_SOURCES] = [list(pair) for pair in self._round_sources]
            artefacts = RoundArtefacts(event.round, source, _json(data))
        await self._save_round(event.round, steps, artefacts)
        self._texts.append(event.text)
        self._round_recorded = True

    async def _save_round(
        self, round_no: int, steps: list[NewStep], artefacts: RoundArtefacts | None = None
    ) -> None:
        if self._draft is not None:
            # Also when `steps` is empty: a draft of the round may have to go.
            await self._draft.save_round(round_no, steps, artefacts=artefacts)
        elif steps or artefacts is not None:
            await self._messages.append_steps(self._answer_id, steps, artefacts=artefacts)

    async def _finish(self, status: AnswerStatus, error_text: str | None) -> None:
        if self._finishing is not None:
            return
        if self._draft is not None:
            # The final write below holds everything; no flush may touch the answer after it.
            self._draft.close()
        # The final write runs as its own task: a cancellation arriving meanwhile must not
        # leave the answer half-closed, and `abandon()` then waits for it instead of racing it.
        self.finished = status
        text = self.visible_text

        def write() -> Awaitable[None]:
            return self._messages.finish_answer(
                self._answer_id, status, text, error_text=error_text
            )

        self._finishing = asyncio.ensure_future(self._write_or_wait(write))
        await asyncio.shield(self._finishing)

    async def _write_or_wait(self, write: Callable[[], Awaitable[None]]) -> None:
        """`write` now, or, the database being gone, as soon as it is back."""
        try:
            await write()
        except DatabaseUnavailableError:
            if self._outage is None:
                raise
            self._outage.redo(f"answer {self._answer_id}", write)

    async def abandon(
        self, status: AnswerStatus = "interrupted", error_text: str | None = None
    ) -> None:
        """Save what the current round produced and close the answer. Safe to call from an
        `except CancelledError` block: the writes are shielded from further cancellation."""
        if self._finishing is not None:
            await asyncio.shield(self._finishing)
            return
        await asyncio.shield(self._abandon(status, error_text))

    async def _abandon(self, status: AnswerStatus, error_text: str | None) -> None:
        if not self._round_recorded:
            steps: list[NewStep] = []
            reasoning, text = "".join(self._round_reasoning), "".join(self._round_text)
            if reasoning:
                steps.append(NewStep(round=self._round, kind="reasoning", content=reasoning))
            if text:
                steps.append(NewStep(round=self._round, kind="text", content=text))
            round_no = self._round

            def write() -> Awaitable[None]:
                return self._save_round(round_no, steps)

            await self._write_or_wait(write)
            self._texts.append(text)
            self._round_recorded = True
        await self._finish(status, error_text)


def _json(value: object) -> str:
    # Compact and unescaped: artefacts go back byte for byte as far as JSON allows, and a
    # signature or encrypted blob is stored once, not inflated by escapes.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
