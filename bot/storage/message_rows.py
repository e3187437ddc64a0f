"""Rows of messages and steps as the rest of the bot sees them: the column lists and the
functions that map rows to records (positionally: history maps tens of thousands of them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.answer_text import join_rounds
from bot.storage.models import RoundArtefacts, Step, StepKind, StoredMessage, ToolResultStatus
from bot.storage.sql import Row
from bot.storage.timeutil import from_ms, from_ms_or_none


@dataclass(frozen=True, slots=True)
class NewStep:
    """A step to append to an answer; its `seq` is assigned by `append_steps`."""

    round: int
    kind: StepKind
    content: str
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_arguments: str | None = None
    tool_status: ToolResultStatus | None = None
    duration_ms: int | None = None
    tool_extra: str | None = None  # JSON object


# Both column lists are in their dataclass's field order, so rows map positionally (fast:
# history builds tens of thousands of these).
MESSAGE_COLUMNS = (
    "m.id, m.conversation_id, m.role, m.content, m.author_id, m.author_name,"
    " m.discord_message_id, m.status, m.model, m.created_at, m.error_text,"
    " m.reply_to_message_id, m.finished_at"
)
STEP_COLUMNS = (
    "s.message_id, s.seq, s.round, s.kind, s.content, s.tool_call_id, s.tool_name,"
    " s.tool_arguments, s.tool_status, s.duration_ms, s.tool_extra"
)
ARTEFACT_COLUMNS = "a.message_id, a.round, a.source, a.data"


def message_of(
    row: Row, steps: Sequence[Step] = (), artefacts: Sequence[RoundArtefacts] = ()
) -> StoredMessage:
    id_, conversation_id, role, content, author_id, author_name, discord_id, status, model = row[:9]
    return StoredMessage(
        id_, conversation_id, role, content, author_id, author_name, discord_id, status, model,
        from_ms(row[9]), tuple(steps), row[10], row[11], from_ms_or_none(row[12]),
        tuple(artefacts),
    )  # fmt: skip


def group_artefacts(rows: Iterable[Row]) -> dict[int, list[RoundArtefacts]]:
    grouped: dict[int, list[RoundArtefacts]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(RoundArtefacts(row[1], row[2], row[3]))
    return grouped


def visible_text(steps: Iterable[Step]) -> str:
    """An answer's text as members read it: each round's text, a blank line apart."""
    return join_rounds(s.content for s in steps if s.kind == "text")


def group_steps(rows: Iterable[Row]) -> dict[int, list[Step]]:
    """Steps by message id; `rows` are `STEP_COLUMNS` ordered by (message, seq)."""
    grouped: dict[int, list[Step]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(Step(*row[1:]))
    return grouped
