"""Where an answer appears: the chat service's `PresenterFactory`, implemented for Discord.

`AnswerPresenters` is given to a turn; when the turn starts an answer it builds the
`DiscordAnswer` that shows it in the turn's channel (as a reply to the member's message when
there is one) and starts its first visible sign. `AnswerMessageLog` records each Discord
message an answer creates, so the answer can be found and edited again after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import discord

from bot.deps import Services
from bot.discord_ui.answer import DiscordAnswer
from bot.discord_ui.state import Citer, Summarizer
from bot.errors import DatabaseUnavailableError
from bot.frontend.revisions import retire_regenerate
from bot.services.effective_settings import EffectiveSettings
from bot.storage.models import StoredMessage


class AnswerMessageLog:
    """Records the Discord messages that show one answer, in order."""

    def __init__(self, services: Services, answer_id: int) -> None:
        self._services = services
        self._answer_id = answer_id

    async def __call__(self, position: int, sent: discord.Message) -> None:
        write = partial(
            self._services.messages.add_discord_message,
            self._answer_id,
            position,
            sent.channel.id,
            sent.id,
        )
        try:
            await write()
        except DatabaseUnavailableError:
            # Written once PostgreSQL is back, so the message can still be found and edited.
            outage = self._services.db.outage
            if outage is None:
                raise
            outage.redo(f"a message of answer {self._answer_id}", write)


class AnswerPresenters:
    """Builds the Discord presenter of each answer a turn starts (a `PresenterFactory`)."""

    def __init__(
        self,
        services: Services,
        client: discord.Client,
        channel: Any,
        reply_to: discord.Message | None,
        summarizers: Mapping[str, Summarizer],
        citers: Mapping[str, Citer] | None = None,
    ) -> None:
        self._citers = citers or {}
        self._services = services
        self._client = client
        self._channel = channel
        self._reply_to = reply_to
        self._summarizers = summarizers

    async def __call__(self, answer: StoredMessage, effective: EffectiveSettings) -> DiscordAnswer:
        services = self._services
        channel_id = self._channel.id
        shown = DiscordAnswer(
            pacer=services.pacer,
            channel=self._channel,
            lane=services.channel_lane(channel_id),
            create_lane=services.create_lane(channel_id),
            answer_id=answer.id,
            reasoning_mode=effective.reasoning_mode,
            model=answer.model,
            summarize=self._summarizers,
            reply_to=self._reply_to,
            on_message_created=AnswerMessageLog(services, answer.id),
        )
        shown.state.waiting_notice_s = services.settings.llm_waiting_notice_seconds
        shown.state.cite = self._citers
        await shown.start()
        # Only the latest answer of a conversation offers Regenerate.
        await retire_regenerate(services, self._client, answer.conversation_id, answer.id)
        return shown
