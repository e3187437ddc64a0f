"""One conversation turn, and the queue that runs turns one at a time per conversation.

A turn: effective channel settings → history for this turn → `run_tool_loop` → every event
recorded (`AnswerRecorder`), metered (`CallMeter`) and shown (`AnswerPresenter`). The service
knows nothing of Discord: the presenter is given by the caller (the Discord front end builds
one per answer), so the same turn logic runs in tests and benchmarks.

Messages that arrive while a conversation is answering are stored at once (nothing is lost
on a crash) and their turns wait in that conversation's queue; each gets its own answer, in
arrival order. A Stop ends only the running answer.

When PostgreSQL is lost mid-run (`outage`), every answer in flight is stopped and ends with
the database's plain line under the words already shown: the model call is not left running
when neither its cost nor its text can be recorded. Their records, a call's settlement and
budget holds to release wait for the server to be back (`bot.storage.outage`), and so do the
messages waiting their turn behind those answers (for up to `QUEUED_TURN_WAIT_S`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from bot.billing.types import CallCost
from bot.errors import DatabaseUnavailableError, UserFacingError, describe
from bot.llm.loop import ChatStreamer, run_tool_loop
from bot.llm.tools import ToolContext, ToolRegistry
from bot.llm.types import ChatRequest, LoopDone, LoopError, RoundStarted, UsageReported
from bot.logs import log_context
from bot.services.effective_settings import EffectiveSettingsCache
from bot.services.model_request import DEFAULT_LIMITS, EngineLimits, ModelRequestBuilder
from bot.services.ports import (
    AnswerFollowUp,
    AnswerPresenter,
    CallMeter,
    ContextWindowSource,
    PresenterFactory,
    TurnContext,
)
from bot.services.recorder import AnswerRecorder
from bot.services.tool_catalog import ToolCatalog
from bot.storage.messages import MessageRepository
from bot.storage.models import Conversation, StoredMessage
from bot.storage.outage import Outage
from bot.storage.stream_log import StreamLog
from bot.tasks import spawn

log = logging.getLogger(__name__)


# A member's message waiting its turn when PostgreSQL went away is answered if the server is
# back within this long; the answer before it ended saying "try again in a minute".
QUEUED_TURN_WAIT_S = 120.0


@dataclass(slots=True)
class TurnRequest:
    conversation: Conversation
    user_message: StoredMessage
    presenter_factory: PresenterFactory
    # Facts about the place for the system prompt, e.g. "Discord server Foo, channel #bar".
    place_description: str | None = None
    model: str | None = None  # overrides the conversation's and the channel's model
    # Lines for the member shown with the answer, e.g. which attachments were skipped.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LastError:
    """The latest failure of the model endpoint, for operators (`/status`)."""

    at: datetime
    text: str


def _error_text(error: Exception) -> str:
    if isinstance(error, UserFacingError):
        return error.user_message
    return type(error).__name__


@dataclass(slots=True)
class _Running:
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answer_id: int | None = None
    database_lost: bool = False  # stopped because PostgreSQL went away


class ChatService:
    def __init__(
        self,
        *,
        messages: MessageRepository,
        effective_settings: EffectiveSettingsCache,
        client: ChatStreamer,
        tools: ToolRegistry | ToolCatalog,
        limits: EngineLimits = DEFAULT_LIMITS,
        meter: CallMeter | None = None,
        context_windows: ContextWindowSource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        drafts: StreamLog | None = None,
        follow_ups: Sequence[AnswerFollowUp] = (),
        outage: Outage | None = None,
    ) -> None:
        self._follow_ups = tuple(follow_ups)
        self._outage = outage
        if outage is not None:
            outage.on_lost(self._database_lost)
        self._messages = messages
        self._drafts = drafts  # saves streaming rounds, so a crash loses no shown words
        self._effective = effective_settings
        self._client = client
        # Built-ins only, or built-ins and the MCP servers' tools (which change at run time).
        self._catalog = tools if isinstance(tools, ToolCatalog) else ToolCatalog(tools)
        self._limits = limits
        self._meter = meter
        self._requests = ModelRequestBuilder(
            messages, limits=limits, context_windows=context_windows, clock=clock
        )
        self._clock = clock
        self._queues: dict[int, deque[TurnRequest]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._running: dict[int, _Running] = {}
        self._accepting = True
        self.last_llm_error: LastError | None = None

    # --- queue ----------------------------------------------------------------------------

    def submit(self, turn: TurnRequest) -> int:
        """Queue a turn; returns how many turns are ahead of it (0: it starts now)."""
        if not self._accepting:
            raise UserFacingError("The bot is shutting down; try again in a minute.")
        conversation_id = turn.conversation.id
        queue = self._queues.setdefault(conversation_id, deque())
        ahead = len(queue) + (1 if conversation_id in self._running else 0)
        queue.append(turn)
        if conversation_id not in self._workers:
            self._workers[conversation_id] = spawn(
                self._work(conversation_id), name=f"conversation-{conversation_id}"
            )
        return ahead

    def stop(self, conversation_id: int) -> bool:
        """Stop the answer running in the conversation; False when none is running."""
        running = self._running.get(conversation_id)
        if running is None or running.stop.is_set():
            return False
        running.stop.set()
        return True

    def _database_lost(self) -> None:
        for running in self._running.values():
            running.database_lost = True
            running.stop.set()

    def running_answer(self, conversation_id: int) -> int | None:
        running = self._running.get(conversation_id)
        return running.answer_id if running else None

    @property
    def answers_in_flight(self) -> int:
        return len(self._running)

    @property
    def turns_queued(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    async def close(self, grace_s: float = 10.0) -> None:
        """Stop taking turns, let running answers finish for `grace_s`, then interrupt them
        (they are recorded as interrupted and say so)."""
        self._accepting = False
        for queue in self._queues.values():
            queue.clear()
        workers = list(self._workers.values())
        if not workers:
            return
        _, pending = await asyncio.wait(workers, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    async def _work(self, conversation_id: int) -> None:
        queue = self._queues[conversation_id]
        try:
            while queue:
                turn = queue.popleft()
                await self._run_turn(turn)
        finally:
            self._workers.pop(conversation_id, None)
            if not queue:
                self._queues.pop(conversation_id, None)

    # --- one turn -------------------------------------------------------------------------

    async def _run_turn(self, turn: TurnRequest) -> None:
        conversation = turn.conversation
        running = _Running()
        self._running[conversation.id] = running
        try:
            with log_context(
                guild_id=conversation.guild_id,
                channel_id=conversation.channel_id,
                conversation_id=conversation.id,
            ):
                await self._answer(turn, running)
        finally:
            self._running.pop(conversation.id, None)

    async def _start_answer(
        self, conversation_id: int, model: str, user_message_id: int
    ) -> StoredMessage | None:
        """The answer's row, once the database can take it. A member's message waiting its
        turn when PostgreSQL went away was stored before: it is answered once the server is
        back (the answer before it told the member the database is gone), if that is within
        `QUEUED_TURN_WAIT_S`."""
        deadline = asyncio.get_running_loop().time() + QUEUED_TURN_WAIT_S
        while True:
            try:
                return await self._messages.start_answer(conversation_id, model, user_message_id)
            except DatabaseUnavailableError as exc:
                outage = self._outage
                left = deadline - asyncio.get_running_loop().time()
                if outage is not None and left > 0 and await outage.until_back(left):
                    continue
                # Nothing shown yet and nowhere to record an answer: the member's message is
                # stored, and answered when they ask again.
                log.warning("answer not started: %s", exc.detail)
                return None

    async def _answer(self, turn: TurnRequest, running: _Running) -> None:
        conversation = turn.conversation
        effective = await self._effective.for_channel(
            conversation.channel_id if conversation.kind != "dm" else None,
            conversation.parent_channel_id,
        )
        model = turn.model or conversation.model or effective.model
        answer = await self._start_answer(conversation.id, model, turn.user_message.id)
        if answer is None:
            return
        running.answer_id = answer.id
        recorder = AnswerRecorder(
            self._messages, answer.id, drafts=self._drafts, outage=self._outage
        )
        context = TurnContext(conversation, turn.user_message, answer.id, model)
        presenter: AnswerPresenter | None = None
        try:
            # Only asks for the first visible sign: the model call below does not wait for
            # Discord. Showing it can still fail (no permission to post, a deleted channel);
            # the presenter then raises, and the answer is closed as an error.
            presenter = await turn.presenter_factory(answer, effective)
            for note in turn.notes:
                presenter.note(note)
            # The tools of this answer: the channel's, among those available now.
            tools = self._catalog.registry().only(effective.enabled_tools)
            request, left_out = await self._requests.build(
                turn.conversation.id,
                turn.user_message.id,
                answer.id,
                system_prompt=effective.system_prompt,
                place_description=turn.place_description,
                model=model,
                tools=tools,
            )
            if left_out:
                presenter.note("Older messages were left out to fit the model's context.")
            if await self._stream(turn, context, request, tools, running, recorder, presenter):
                await self._follow_up(context, recorder)
                return  # its end is on screen and recorded
        except UserFacingError as exc:
            log.info("answer refused: %s", exc.detail or exc.user_message)
            await recorder.abandon("error", exc.user_message)
            if presenter is not None:
                await presenter.fail(exc.user_message)
        except asyncio.CancelledError:
            await recorder.abandon("interrupted")
            if presenter is not None:
                await asyncio.shield(presenter.interrupted())
            raise
        except Exception as exc:
            said = describe(exc, "answer")
            await recorder.abandon("error", str(said))
            if recorder.finished not in (None, "error"):
                # Recorded as ended before its first message failed: nobody ever saw it.
                text = recorder.visible_text
                await self._messages.finish_answer(answer.id, "error", text, str(said))
            if presenter is not None:
                await presenter.fail(said.text, error_id=said.error_id)
        if presenter is not None:
            await presenter.finish()
        await self._follow_up(context, recorder)

    async def _follow_up(self, context: TurnContext, recorder: AnswerRecorder) -> None:
        """What comes after a complete answer (a thread's title); never fails the answer."""
        if recorder.finished != "complete":
            return
        for follow_up in self._follow_ups:
            try:
                await follow_up.answered(context, recorder.visible_text)
            except Exception:
                log.exception("follow-up %s failed", type(follow_up).__name__)

    async def _stream(
        self,
        turn: TurnRequest,
        context: TurnContext,
        request: ChatRequest,
        tools: ToolRegistry,
        running: _Running,
        recorder: AnswerRecorder,
        presenter: AnswerPresenter,
    ) -> bool:
        """Run the tool loop into the record and the presenter; True once the answer's end
        was shown (`presenter.finish()` done) and recorded."""
        conversation = turn.conversation
        tool_context = ToolContext(
            conversation_id=conversation.id,
            guild_id=conversation.guild_id,
            channel_id=conversation.channel_id,
            user_id=turn.user_message.author_id,
            message_id=turn.user_message.id,
        )
        reservations: deque[object] = deque()
        lost: Exception | None = None  # why the presenter cannot show the answer
        finished = False
        events = run_tool_loop(
            self._client,
            request,
            tools,
            tool_context,
            max_tool_rounds=self._limits.max_tool_rounds,
            stop=running.stop,
        )
        try:
            async with aclosing(events):
                async for event in events:
                    if isinstance(event, RoundStarted) and self._meter is not None:
                        reservations.append(await self._meter.before_call(context, event))
                    if (
                        isinstance(event, UsageReported)
                        and self._meter is not None
                        and reservations
                    ):
                        cost = await self._settle(reservations.popleft(), event)
                        presenter.add_cost(cost.cost_micros, estimated=cost.estimated)
                        if cost.warning:
                            presenter.note(cost.warning)
                    if isinstance(event, LoopError):
                        self.last_llm_error = LastError(self._clock(), _error_text(event.error))
                    end = isinstance(event, LoopDone | LoopError)
                    if end and running.database_lost:
                        # Stopped for the lost database, not by a member: say so.
                        raise DatabaseUnavailableError()
                    if lost is None:
                        try:
                            presenter.update(event)  # shown first: recording awaits storage
                        except Exception as exc:
                            # Nobody can see this answer (its first message failed): stop the
                            # model call, so what it used is billed, and close it as an error.
                            lost = exc
                            running.stop.set()
                    if lost is not None and end:
                        raise lost
                    await recorder.on_event(event)
                    if end:
                        await presenter.finish()  # raises if its first message failed late
                        finished = True
        finally:
            # A call that never reported usage (shutdown mid-stream, refusal) frees its hold.
            while reservations and self._meter is not None:
                await self._later_if_lost(
                    "a budget hold", partial(self._meter.release, reservations.popleft())
                )
        return finished

    async def _settle(self, reservation: object, event: UsageReported) -> CallCost:
        assert self._meter is not None
        write = partial(self._meter.after_call, reservation, event)
        try:
            return await write()
        except DatabaseUnavailableError:
            # The call happened: its ledger row is written once the server is back (settling
            # is idempotent by the call's key), and the answer ends with the outage's line.
            if self._outage is not None:
                self._outage.redo("a call's settlement", write)
            raise

    async def _later_if_lost(self, what: str, write: Callable[[], Awaitable[object]]) -> None:
        try:
            await asyncio.shield(write())
        except DatabaseUnavailableError:
            if self._outage is None:
                raise
            self._outage.redo(what, write)
