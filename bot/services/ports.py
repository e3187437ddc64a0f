"""What a conversation turn talks to, as protocols: the presenter that shows an answer
(the Discord front end implements it) and the meter that bills each model call
(`bot.billing.meter.Meter` implements it). The chat service depends only on these.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.billing.types import CallCost
from bot.llm.types import LoopEvent, RoundStarted, UsageReported
from bot.services.effective_settings import EffectiveSettings
from bot.storage.models import Conversation, StoredMessage


class AnswerPresenter(Protocol):
    """Shows one answer to people (the Discord front end implements it)."""

    def update(self, event: LoopEvent) -> None:
        """Fold a loop event in; must not block (rendering and I/O happen elsewhere)."""

    def note(self, text: str) -> None:
        """An extra line for the member, e.g. that older turns were left out."""

    def add_cost(self, cost_micros: int | None, *, estimated: bool) -> None:
        """The cost of one call (None when the model has no known price)."""

    async def fail(self, user_message: str, *, error_id: str | None = None) -> None:
        """The answer failed outside the loop (budget, context, internal error)."""

    async def interrupted(self) -> None:
        """The bot is shutting down mid-answer."""

    async def finish(self) -> None:
        """Wait (bounded) until the final state is visible."""


# Builds the presenter of a new answer and shows its first visible sign.
PresenterFactory = Callable[[StoredMessage, EffectiveSettings], Awaitable[AnswerPresenter]]


class ContextWindowSource(Protocol):
    """Each model's context window (`bot.llm.context_windows.ContextWindows` is one)."""

    async def tokens(self, ref: str) -> int:
        """The context window of model reference `ref`, in tokens."""


class CallMeter(Protocol):
    """Billing around each model call (reserve → settle); see `bot.billing`."""

    async def before_call(self, turn: TurnContext, started: RoundStarted) -> object:
        """Reserve the worst case of the round's request; raise `BudgetExceededError` to
        refuse the call."""

    async def after_call(self, reservation: object, event: UsageReported) -> CallCost:
        """Settle to what was used (one ledger row); returns the cost and any warning."""

    async def release(self, reservation: object) -> None:
        """Drop a reservation whose call never reported usage."""


class AnswerFollowUp(Protocol):
    """Work after a complete answer (`bot.services.titles.ThreadTitles` is one)."""

    async def answered(self, turn: TurnContext, text: str) -> None:
        """The answer of `turn` is complete; `text` is what members read."""


@dataclass(frozen=True, slots=True)
class TurnContext:
    conversation: Conversation
    user_message: StoredMessage
    answer_id: int
    model: str
