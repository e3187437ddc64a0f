"""Building `StoredMessage` / `Step` values for history tests without a database."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.storage.models import Step, StoredMessage
from bot.vocabulary import AnswerStatus

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def reasoning(text: str, round: int = 0) -> Step:
    return Step(seq=0, round=round, kind="reasoning", content=text)


def text(content: str, round: int = 0) -> Step:
    return Step(seq=0, round=round, kind="text", content=content)


def call(call_id: str | None, name: str = "calculator", args: str = "{}", round: int = 0) -> Step:
    return Step(
        seq=0,
        round=round,
        kind="tool_call",
        content="",
        tool_call_id=call_id,
        tool_name=name,
        tool_arguments=args,
    )


def result(call_id: str | None, content: str = "ok", round: int = 0) -> Step:
    return Step(
        seq=0,
        round=round,
        kind="tool_result",
        content=content,
        tool_call_id=call_id,
        tool_status="ok",
        duration_ms=3,
    )


@dataclass
class HistoryBuilder:
    """Appends member messages and answers in order; ids, seqs and times are assigned."""

    messages: list[StoredMessage] = field(default_factory=list)
    conversation_id: int = 1

    def _next(self) -> tuple[int, datetime]:
        n = len(self.messages) + 1
        return n, _EPOCH + timedelta(seconds=n)

    def user(self, content: str, author: int = 100, name: str | None = "Alice") -> HistoryBuilder:
        n, at = self._next()
        self.messages.append(
            StoredMessage(
                id=n,
                conversation_id=self.conversation_id,
                role="user",
                content=content,
                author_id=author,
                author_name=name,
                discord_message_id=10_000 + n,
                status="complete",
                model=None,
                created_at=at,
            )
        )
        return self

    def answer(
        self,
        *steps: Step,
        content: str | None = None,
        status: AnswerStatus = "complete",
        number_seqs: bool = True,
    ) -> HistoryBuilder:
        """An answer from `steps` (seq numbered in the given order unless told otherwise).

        `content` defaults to the text of the last round, as the chat service stores it.
        """
        n, at = self._next()
        if number_seqs:
            steps = tuple(replace(s, seq=i) for i, s in enumerate(steps))
        if content is None:
            texts = [s for s in steps if s.kind == "text"]
            last_round = max((s.round for s in texts), default=0)
            content = "".join(s.content for s in texts if s.round == last_round)
        self.messages.append(
            StoredMessage(
                id=n,
                conversation_id=self.conversation_id,
                role="assistant",
                content=content,
                author_id=None,
                author_name=None,
                discord_message_id=10_000 + n,
                status=status,
                model="test-model",
                created_at=at,
                steps=tuple(steps),
            )
        )
        return self
