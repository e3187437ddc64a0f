"""Conversations as Discord shows them: threads, inline channels and DMs.

A `/chat` or a mention in a channel in threads mode opens a public thread (named from the
prompt) that is one conversation; in inline mode the channel itself, and a DM, are one
rolling conversation. The chat cog parses Discord events and calls these methods; this
module decides which conversation a message belongs to, creates threads, stores member
messages and hands turns to the chat service with an `AnswerPresenters` factory for where
the answer must appear.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal

import discord

from bot.attachments import AttachmentLimits
from bot.deps import Services
from bot.discord_ui.lanes import Lane
from bot.discord_ui.replies import NO_MENTIONS
from bot.errors import DuplicateMessageError, InvalidInputError, UserFacingError
from bot.frontend.presenters import AnswerPresenters
from bot.frontend.questions import Question, Questions
from bot.frontend.reading import MessageReader, ReadMessage
from bot.frontend.revisions import (
    EDITED_NOTE,
    REPLACED_NOTE,
    latest_exchange,
    mark_replaced,
    to_regenerate,
)
from bot.frontend.text import display_name, place_description, thread_title
from bot.money import usd
from bot.services.chat import TurnRequest
from bot.services.effective_settings import EffectiveSettings
from bot.storage.models import Conversation, ConversationKind, StoredMessage

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT_S = 120.0
STARTER_PREVIEW_MAX = 1800
THREAD_ARCHIVE_MINUTES: Literal[60, 1440, 4320, 10080] = 1440  # a day of quiet

Messageable = discord.TextChannel | discord.Thread | discord.DMChannel | discord.VoiceChannel


class DiscordFrontend:
    def __init__(self, services: Services, client: discord.Client) -> None:
        self._s = services
        self._client = client
        # Failed answers already retried: a double click must not start two retries. A retry
        # that fails again offers its own Retry button, so an id never needs a second one.
        self._retried: set[int] = set()
        self._summarizers = {
            name: tool.summarize for name, tool in services.tools.items() if tool.summarize
        }
        self._citers = {name: tool.cite for name, tool in services.tools.items() if tool.cite}
        settings = services.settings
        self._reader = MessageReader(
            services.http, AttachmentLimits.from_settings(settings), settings.context_messages
        )

    # --- finding conversations ------------------------------------------------------------

    async def conversation_in(self, channel_id: int) -> Conversation | None:
        return await self._s.conversations.open_for_channel(channel_id)

    async def settings_for(self, channel: Any) -> EffectiveSettings:
        if isinstance(channel, discord.DMChannel):
            return await self._s.effective_settings.for_channel(None)
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        return await self._s.effective_settings.for_channel(channel.id, parent)

    async def rolling_conversation(self, channel: Any, user_id: int) -> Conversation:
        """The open conversation of an inline channel, thread or DM, started when missing."""
        kind: ConversationKind
        if isinstance(channel, discord.DMChannel):
            kind, guild_id, parent = "dm", None, None
        elif isinstance(channel, discord.Thread):
            kind, guild_id, parent = "thread", channel.guild.id, channel.parent_id
        else:
            kind, guild_id, parent = "inline", channel.guild.id, None
        conversation, _ = await self._s.conversations.open_or_create(
            kind, guild_id, channel.id, parent, getattr(channel, "name", None), None, user_id
        )
        return conversation

    # --- starting turns -------------------------------------------------------------------

    async def start_thread_from_interaction(
        self,
        interaction: discord.Interaction[Any],
        channel: discord.TextChannel,
        prompt: str,
        model: str | None,
    ) -> discord.Thread:
        """`/chat` in a threads-mode channel: the reply shows the prompt and carries the thread."""
        user = interaction.user
        preview = (
            prompt if len(prompt) <= STARTER_PREVIEW_MAX else prompt[:STARTER_PREVIEW_MAX] + "…"
        )
        model_note = f" · `{model}`" if model else ""
        quoted = "\n".join(f"> {line}" if line else ">" for line in preview.splitlines())
        callback = await interaction.response.send_message(
            f"💬 **{display_name(user)}** started a conversation{model_note}\n{quoted}",
            allowed_mentions=NO_MENTIONS,
        )
        # The callback's response already carries the message (discord.py asks for it), so
        # no second request is needed to find where to start the thread.
        starter = callback.resource
        if not isinstance(starter, discord.InteractionMessage):
            starter = await interaction.original_response()
        thread = await self._open_thread(starter, prompt)
        conversation = await self._s.conversations.create(
            "thread", channel.guild.id, thread.id, channel.id, thread.name, model, user.id
        )
        stored = await self._s.messages.add_user_message(
            conversation.id, prompt, user.id, display_name(user), None
        )
        self.submit(conversation, stored, thread, reply_to=None)
        return thread

    async def start_thread_from_message(
        self, message: discord.Message, channel: discord.TextChannel, prompt: str
    ) -> None:
        """A mention in a threads-mode channel: a thread from the member's own message."""
        thread = await self._open_thread(message, prompt)
        conversation = await self._s.conversations.create(
            "thread", channel.guild.id, thread.id, channel.id, thread.name, None, message.author.id
        )
        read = await self._store(conversation, message, prompt, with_context=True)
        if read is not None:
            stored, notes = read
            self.submit(conversation, stored, thread, reply_to=None, notes=notes)

    async def ask_about(
        self,
        interaction: discord.Interaction[Any],
        channel: discord.TextChannel,
        message: discord.Message,
    ) -> None:
        """`Ask Switchboard` on a message: a thread on it, and an answer about it at once."""
        user = interaction.user
        await interaction.response.defer(ephemeral=True, thinking=True)
        read = await self._reader.read(message, message.content)
        about = f"[{display_name(message.author)}]: {read.content}"
        prompt = (
            f"{display_name(user)} asks about this message (tell them what it says, explain "
            f"it, or answer what it asks):\n\n{about}"
        )
        try:
            thread = message.thread or await self._open_thread(
                message, message.content or f"About {display_name(message.author)}'s message"
            )
        except discord.HTTPException as exc:
            raise UserFacingError("I can't open a thread on that message.") from exc
        conversation = await self.conversation_in(thread.id)
        if conversation is None:
            conversation = await self._s.conversations.create(
                "thread", channel.guild.id, thread.id, channel.id, thread.name, None, user.id
            )
        stored = await self._s.messages.add_user_message(
            conversation.id,
            prompt,
            user.id,
            display_name(user),
            None,
            attachments=read.attachments,
        )
        self.submit(conversation, stored, thread, reply_to=None, notes=read.notes)
        await interaction.followup.send(f"Answering in {thread.mention}.", ephemeral=True)

    async def continue_with_message(
        self,
        conversation: Conversation,
        message: discord.Message,
        text: str,
        *,
        with_context: bool = False,
    ) -> None:
        """A member message in a conversation's channel; `with_context` when it starts the
        conversation (the channel's recent messages are given to the model as context)."""
        read = await self._store(conversation, message, text, with_context=with_context)
        if read is not None:
            stored, notes = read
            self.submit(conversation, stored, message.channel, reply_to=message, notes=notes)

    async def continue_with_prompt(
        self,
        interaction: discord.Interaction[Any],
        conversation: Conversation,
        prompt: str,
        model: str | None,
    ) -> None:
        """`/chat` where the conversation is the channel itself (inline, DM, or a thread)."""
        user = interaction.user
        await interaction.response.send_message(
            f"💬 **{display_name(user)}:** {prompt[:STARTER_PREVIEW_MAX]}",
            allowed_mentions=NO_MENTIONS,
        )
        stored = await self._s.messages.add_user_message(
            conversation.id, prompt, user.id, display_name(user), None
        )
        self.submit(conversation, stored, interaction.channel, reply_to=None, model=model)

    def submit(
        self,
        conversation: Conversation,
        stored: StoredMessage,
        channel: Any,
        *,
        reply_to: discord.Message | None,
        model: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> int:
        presenters = AnswerPresenters(
            self._s, self._client, channel, reply_to, self._summarizers, self._citers
        )
        turn = TurnRequest(
            conversation,
            stored,
            presenters,
            place_description=place_description(channel),
            model=model,
            notes=notes,
        )
        return self._s.chat.submit(turn)

    async def retry(self, answer_id: int, channel: Any) -> None:
        answer = await self._s.messages.get(answer_id)
        if answer is None or answer.role != "assistant":
            raise InvalidInputError("That answer no longer exists.")
        if answer.status not in ("error", "interrupted"):
            raise InvalidInputError("Only an answer that failed can be retried.")
        if answer.reply_to_message_id is None:
            raise InvalidInputError("I can't tell which message that answer was for.")
        question = await self._s.messages.get(answer.reply_to_message_id)
        conversation = await self._s.conversations.get(answer.conversation_id)
        if question is None or conversation is None or conversation.closed_at is not None:
            raise InvalidInputError("That conversation has ended; start a new one with /chat.")
        if answer_id in self._retried:
            raise InvalidInputError("That answer is already being retried.")
        self._retried.add(answer_id)
        self.submit(conversation, question, channel, reply_to=None)

    async def regenerate(self, answer_id: int, channel: Any) -> None:
        """Answer the latest member message again; the old answer says it was replaced."""
        conversation, question = await to_regenerate(self._s, answer_id)
        await mark_replaced(self._s, self._client, answer_id, REPLACED_NOTE)
        self.submit(conversation, question, channel, reply_to=None)

    async def edited(self, message: discord.Message, text: str) -> bool:
        """A member edited a message: when it is the latest of its conversation, store the
        new text and answer it afresh (earlier answers to it say they were replaced)."""
        stored = await self._s.messages.find_by_discord_message(message.id)
        if stored is None or stored.role != "user":
            return False
        conversation = await self._s.conversations.get(stored.conversation_id)
        if conversation is None or conversation.closed_at is not None:
            return False
        latest, answer = await latest_exchange(self._s, conversation.id)
        if latest is None or latest.id != stored.id:
            return False  # only the latest member message is answered again
        read = await self._reader.read(message, text)
        if read.content == stored.content:
            return False  # e.g. an embed was added: the words did not change
        await self._s.messages.update_user_content(stored.id, read.content)
        if self._s.chat.running_answer(conversation.id) is not None:
            self._s.chat.stop(conversation.id)
        if answer is not None and answer.reply_to_message_id == stored.id:
            await mark_replaced(self._s, self._client, answer.id, EDITED_NOTE)
        updated = replace(stored, content=read.content)
        self.submit(conversation, updated, message.channel, reply_to=message, notes=read.notes)
        return True

    # --- helpers --------------------------------------------------------------------------

    async def _cost_accepted(
        self, conversation: Conversation, message: discord.Message, read: ReadMessage
    ) -> bool:
        """Ask before attachments that would cost more than `ATTACHMENT_CONFIRM_USD` to read
        (their estimated tokens at the model's input price); True when there is no need."""
        threshold = self._s.settings.attachment_confirm_usd
        tokens = sum(a.tokens for a in read.attachments)
        if threshold <= 0 or not tokens:
            return True
        model = conversation.model or (await self.settings_for(message.channel)).model
        price = await self._s.prices.price_for(model)
        if price is None:
            return True  # unknown price: a budget, if any, will refuse it plainly
        cost = tokens * price.input_price // 1_000_000
        if cost < threshold * 1_000_000:
            return True
        questions = getattr(self._client, "question_actions", None)
        if not isinstance(questions, Questions):
            return True
        return await questions.ask(
            Question(
                channel_id=message.channel.id,
                text=(
                    f"📎 Reading these attachments costs about **{usd(cost)}** "
                    f"({tokens:,} tokens for `{model}`) before any answer. Continue?"
                ),
                asker_id=message.author.id,
                yes_label="Continue",
                no_label="Cancel",
                yes_note="▶️ Continued",
                no_note="✖️ Cancelled",
                timeout_s=CONFIRM_TIMEOUT_S,
                admins_may=False,
                reply_to=message,
            )
        )

    async def _open_thread(self, message: discord.Message, prompt: str) -> discord.Thread:
        async def create() -> discord.Thread:
            return await message.create_thread(
                name=thread_title(prompt), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )

        try:
            # Paced like every message send, so a burst of /chat stays under the global limit.
            return await self._s.pacer.call(Lane.threads(message.channel.id), create)
        except discord.Forbidden as exc:
            raise UserFacingError(
                "I can't create threads here. An admin can give me the Create Public Threads "
                "permission, or switch this channel to inline answers with /settings mode."
            ) from exc

    async def _store(
        self,
        conversation: Conversation,
        message: discord.Message,
        text: str,
        *,
        with_context: bool = False,
    ) -> tuple[StoredMessage, tuple[str, ...]] | None:
        """Read (replied-to message, context, attachments) and store a member's message;
        the stored message and notes for the member, or None when it was stored already."""
        read = await self._reader.read(message, text, with_context=with_context)
        if read.attachments and not await self._cost_accepted(conversation, message, read):
            return None  # the member cancelled (or did not answer): nothing is answered
        try:
            stored = await self._s.messages.add_user_message(
                conversation.id,
                read.content,
                message.author.id,
                display_name(message.author),
                message.id,
                attachments=read.attachments,
            )
        except DuplicateMessageError:
            # The gateway may deliver a message twice after a resume; answer it once.
            log.info("message %s already stored; not answering it twice", message.id)
            return None
        return stored, read.notes
