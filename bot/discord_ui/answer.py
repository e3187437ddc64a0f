"""One answer on Discord: loop events → `AnswerState` → rendered parts → paced sends.

`DiscordAnswer` is the Discord implementation of the chat service's presenter. Everything
the producer calls (`update`, `note`, `add_cost`) is synchronous and only schedules work: the
pacer owns timing and Discord I/O, so a slow Discord never slows the LLM stream. Each message
is rendered when the pacer sends it, so it shows every event folded in while it waited, and
events that arrive while its edit waits cost no render at all.

First words: `start()` only asks for the first visible sign and returns, so the model call
starts without waiting for Discord. Events that arrive before the first message exists are
folded into the state as usual, and the first message is rendered when the pacer actually
sends it: under load it waits its turn while the answer streams, then shows everything so far
in one request. If it cannot be created at all (no permission to post, a deleted channel),
the answer is lost: `update()` raises that error, and so does `finish()` unless the turn
already ended the answer (`fail()`, `interrupted()`), so the turn stops the model call and
closes the answer as an error.

Parts: the renderer may split an answer over several messages. Part 0 is the first message
(or an existing message given by the caller); later parts are created in order, one at a time,
through the pacer's lane for the channel; each new Discord message is reported through
`on_message_created` so it can be found again after a restart. Every send and edit uses
`allowed_mentions` none: model output can never ping anyone.

While an answer works with nothing arriving (a long tool, slow reasoning), a ticker re-renders
every `tick_s` so elapsed seconds keep moving; the pacer coalesces these like any update.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import discord

from bot.discord_ui.lanes import Lane
from bot.discord_ui.pacer import EditPacer
from bot.discord_ui.render import PLACEHOLDER, MessagePayload, ReasoningMode, render
from bot.discord_ui.replies import NO_MENTIONS
from bot.discord_ui.split import MESSAGE_LIMIT
from bot.discord_ui.state import AnswerState, Summarizer
from bot.discord_ui.views import view_for
from bot.llm.types import LoopEvent, TextDelta
from bot.tasks import spawn

log = logging.getLogger(__name__)

FINISH_TIMEOUT_S = 60.0

MessageCreated = Callable[[int, discord.Message], Awaitable[None]]


class DiscordAnswer:
    def __init__(
        self,
        *,
        pacer: EditPacer,
        channel: discord.abc.Messageable,
        lane: Lane,
        create_lane: Lane,
        answer_id: int,
        reasoning_mode: ReasoningMode,
        model: str | None = None,
        summarize: Mapping[str, Summarizer] | None = None,
        reply_to: discord.Message | None = None,
        on_message_created: MessageCreated | None = None,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = 1.0,
    ) -> None:
        self._pacer = pacer
        self._channel = channel
        self._lane = lane  # edits of this answer's messages
        self._create_lane = create_lane  # its new messages
        self._answer_id = answer_id
        self._mode = reasoning_mode
        self._reply_to = reply_to
        self._on_created = on_message_created
        self._clock = clock
        self._tick_s = tick_s
        self.state = AnswerState(answer_id=str(answer_id), model=model, summarize=summarize or {})
        self._messages: list[discord.Message] = []
        self._wanted: list[MessagePayload] = []  # the latest render, one payload per part
        self._submitted: list[MessagePayload | None] = []  # what each part was last sent as
        self._versions: list[int] = []
        self._waiting: set[int] = set()  # parts whose edit waits in the pacer (not yet sent)
        self._shown_text = False
        self._creator: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._lost: Exception | None = None  # why the first message could not be created
        self._ended_by_turn = False  # fail() or interrupted(): the turn closed the answer
        self._parts_stuck = False  # a later part could not be created: stop trying

    @property
    def messages(self) -> list[discord.Message]:
        return list(self._messages)

    # --- start ------------------------------------------------------------------------------

    async def start(self, existing: discord.Message | None = None) -> None:
        """Ask for the first visible sign and return at once: adopt `existing`, or have the
        pacer create the first message (with whatever the answer shows by then)."""
        if existing is not None:
            await self._adopt(existing, None)
        self._ticker = spawn(self._tick(), name=f"answer-{self._answer_id}-ticker")
        self._refresh()

    # --- the presenter protocol (bot.services.chat.AnswerPresenter) --------------------------

    def update(self, event: LoopEvent) -> None:
        if self._lost is not None:
            raise self._lost
        self.state.apply(event, self._clock())
        self._changed()

    def note(self, text: str) -> None:
        self.state.history_note = text
        self._changed()

    def add_cost(self, cost_micros: int | None, *, estimated: bool) -> None:
        self.state.add_cost(cost_micros, estimated=estimated)
        self._changed()

    async def fail(self, user_message: str, *, error_id: str | None = None) -> None:
        self._ended_by_turn = True
        self.state.mark_error(user_message, error_id)
        self._refresh()

    async def interrupted(self) -> None:
        self._ended_by_turn = True
        self.state.mark_interrupted()
        self._refresh()
        await self.finish(timeout_s=5.0)

    async def finish(self, timeout_s: float = FINISH_TIMEOUT_S) -> None:
        """Wait until every part shows its final state (bounded), then stop ticking. Raises
        the error that kept the first message from being created, unless the turn already
        ended the answer itself (`fail()`, `interrupted()`)."""
        if not self.state.is_final:
            self.state.mark_interrupted()
            self._refresh()
        if self._ticker is not None:
            self._ticker.cancel()
        try:
            async with asyncio.timeout(timeout_s):
                while self._creator is not None and not self._creator.done():
                    await self._creator
                for index in range(len(self._messages)):
                    await self._pacer.wait_landed(self._target(index), self._versions[index])
        except TimeoutError:
            log.warning(
                "answer %s: final state not confirmed in %.0f s", self._answer_id, timeout_s
            )
        if self._lost is not None and not self._ended_by_turn:
            raise self._lost

    # --- rendering and sending ------------------------------------------------------------

    def _render(self) -> None:
        self._wanted = render(self.state, reasoning_mode=self._mode, now=self._clock())

    def _changed(self) -> None:
        """The state changed. While the edits of the parts a stream changes (the first, for
        its header, and the last) still wait in the pacer, there is nothing to do: each is
        rendered when it is sent. That spares a render per token, which with hundreds of
        answers streaming would take most of the event loop."""
        waiting = self._waiting
        settled = self._shown_text and not self.state.is_final and self._messages
        if settled and 0 in waiting and len(self._messages) - 1 in waiting:
            return
        self._refresh()

    def _refresh(self) -> None:
        if self._lost is not None:
            return  # nothing to show it in
        self._render()
        for index in range(min(len(self._messages), len(self._wanted))):
            self._submit_edit(index)
        if self.state.is_final and len(self._messages) > len(self._wanted):
            self._drop_extra_parts()
        if (
            len(self._wanted) > len(self._messages)
            and not self._parts_stuck
            and (self._creator is None or self._creator.done())
        ):
            self._creator = spawn(self._create_parts(), name=f"answer-{self._answer_id}-parts")
        elif not self._messages and self._has_words():
            # The first message still waits its turn: it now carries the answer's first words.
            self._pacer.mark_first_words(self._first_message_key)

    def _has_words(self) -> bool:
        return bool(self._wanted) and self._wanted[0].content != PLACEHOLDER

    def _submit_edit(self, index: int) -> None:
        payload = self._wanted[index]
        if payload == self._submitted[index]:
            return
        self._versions[index] += 1
        message = self._messages[index]
        first_visible = not self._shown_text and payload.content != PLACEHOLDER
        self._shown_text = self._shown_text or first_visible
        self._waiting.add(index)

        async def send() -> None:
            # Rendered now, not when submitted: it shows every event folded in meanwhile.
            self._waiting.discard(index)
            self._render()
            if index >= len(self._wanted) or self._wanted[index] == self._submitted[index]:
                return  # nothing new to show (or the final render dropped this part)
            latest = self._wanted[index]
            await message.edit(
                content=latest.content,
                view=view_for(latest.components),
                allowed_mentions=NO_MENTIONS,
                suppress=True,
            )
            if index < len(self._wanted):  # not dropped by the final render meanwhile
                self._submitted[index] = latest
            if self._wanted[len(self._messages) :] and not self.state.is_final:
                self._refresh()  # the text outgrew its messages: the next part is due

        self._pacer.submit(
            self._target(index),
            self._lane,
            self._versions[index],
            send,
            final=payload.final,
            first_visible=first_visible,
        )

    def _drop_extra_parts(self) -> None:
        """Rarely the final render needs one message fewer (the header shrank right at a
        cut); the spare message is deleted so no stale text stays under the answer."""
        for index in range(len(self._wanted), len(self._messages)):
            if self._submitted[index] is None:
                continue
            self._submitted[index] = None
            self._versions[index] += 1
            message = self._messages[index]
            self._pacer.submit(
                self._target(index), self._lane, self._versions[index], message.delete, final=True
            )

    async def _create_parts(self) -> None:
        """Create the missing parts in order, each with the newest payload for it."""
        while len(self._messages) < len(self._wanted):
            index = len(self._messages)
            sent: list[MessagePayload] = []
            creation = self._creation_of(index, sent)
            try:
                if index:  # a later part of a long answer
                    call = self._pacer.call(self._create_lane, creation, first_sign=False)
                else:  # a placeholder, or the first words if the answer has some already
                    key, words = self._first_message_key, self._has_words()
                    call = self._pacer.call(self._create_lane, creation, first_words=words, key=key)
                message = await call
            except Exception as exc:
                if index == 0:
                    self._lost = exc
                    if self._ticker is not None:
                        self._ticker.cancel()
                else:
                    self._parts_stuck = True
                    log.warning("answer %s: part %d not created: %r", self._answer_id, index, exc)
                return
            await self._adopt(message, sent[-1])
            # Meanwhile the earlier part may have changed (its Stop button moves here).
            self._refresh()

    def _creation_of(
        self, index: int, sent: list[MessagePayload]
    ) -> Callable[[], Awaitable[discord.Message]]:
        queued = self._wanted[index]

        async def create() -> discord.Message:
            # Rendered when the pacer sends it, not when it was queued: under load the first
            # message waits its turn while the answer streams, and then shows all of it.
            self._render()
            payload = self._wanted[index] if index < len(self._wanted) else queued
            sent.append(payload)
            return await self._create(payload)

        return create

    async def _create(self, payload: MessagePayload) -> discord.Message:
        reference = self._reply_to if not self._messages else None
        # Link previews are suppressed: they would make the message jump on every edit.
        kwargs: dict[str, Any] = {
            "content": payload.content,
            "allowed_mentions": NO_MENTIONS,
            "suppress_embeds": True,
        }
        view = view_for(payload.components)
        if view is not None:
            kwargs["view"] = view
        if reference is not None:
            # If the member deleted their message meanwhile, Discord refuses a reply to it
            # (50035 Unknown message) unless told to post a plain message instead.
            kwargs["reference"] = reference.to_reference(fail_if_not_exists=False)
            kwargs["mention_author"] = False
        return await self._channel.send(**kwargs)

    async def _adopt(self, message: discord.Message, sent: MessagePayload | None) -> None:
        self._messages.append(message)
        self._submitted.append(sent)
        self._versions.append(0)
        if sent is not None and sent.content != PLACEHOLDER:
            self._shown_text = True  # the first message already carried text
        if self._on_created is not None:
            try:
                await self._on_created(len(self._messages) - 1, message)
            except Exception:
                log.exception("answer %s: could not record message %s", self._answer_id, message.id)

    def _target(self, index: int) -> tuple[str, int, int]:
        return ("answer", self._answer_id, index)

    @property
    def _first_message_key(self) -> tuple[str, int]:
        return ("first message", self._answer_id)

    async def _tick(self) -> None:
        while not self.state.is_final:
            await asyncio.sleep(self._tick_s)
            if not self.state.is_final:
                self._changed()


def render_interrupted(
    answer_id: int,
    content: str,
    model: str | None,
    *,
    reasoning_mode: ReasoningMode = "hide",
    sources: Sequence[tuple[str, str]] = (),
) -> list[MessagePayload]:
    """The parts of a stored answer that a restart cut off, marked as interrupted."""
    state = AnswerState(answer_id=str(answer_id), model=model)
    state.add_sources(sources)
    if content:
        state.apply(TextDelta(content), 0.0)
    state.mark_interrupted()
    return render(state, reasoning_mode=reasoning_mode, now=0.0)


def interrupted_content(
    answer_id: int, shown: str, model: str | None, *, sources: Sequence[tuple[str, str]] = ()
) -> str:
    """The last message of an answer a restart cut off: what it showed, then the trailer.

    The placeholder alone is replaced. A streaming part always leaves room for the footer
    (render.FOOTER_ROOM), so the trailer fits; the cut below is only a safety net.
    """
    trailer = render_interrupted(answer_id, "", model, sources=sources)[-1].content
    kept = shown.strip()
    if not kept or kept == PLACEHOLDER:
        return trailer
    room = MESSAGE_LIMIT - len(trailer) - 2
    if len(kept) > room:
        kept = kept[:room].rsplit("\n", 1)[0]
    return f"{kept}\n\n{trailer}"
