"""Answering again: Regenerate on the latest answer of a conversation, and a fresh answer
when a member edits their latest message.

Only the latest answer offers Regenerate: when a new answer starts, the previous one's button
is taken away. Either way the answer that is replaced stays where it is, its buttons removed
and a line saying it was replaced; the model sees only the newest answer to each message, and
the ledger keeps every call.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.deps import Services
from bot.discord_ui.replies import NO_MENTIONS
from bot.errors import InvalidInputError
from bot.storage.models import Conversation, StoredMessage

log = logging.getLogger(__name__)

REPLACED_NOTE = "-# ↻ Replaced by a newer answer"
EDITED_NOTE = "-# ↻ Replaced: the question was edited"
# How far back to look for the latest messages of a conversation.
_RECENT = 12


async def latest_exchange(
    services: Services, conversation_id: int
) -> tuple[StoredMessage | None, StoredMessage | None]:
    """(latest member message, latest answer) of a conversation."""
    recent = await services.messages.history(conversation_id, limit=_RECENT)
    question = next((m for m in reversed(recent) if m.role == "user"), None)
    answer = next((m for m in reversed(recent) if m.role == "assistant"), None)
    return question, answer


async def to_regenerate(services: Services, answer_id: int) -> tuple[Conversation, StoredMessage]:
    """The conversation and member message to answer again in place of `answer_id`, or
    `InvalidInputError` saying why it can't be."""
    answer = await services.messages.get(answer_id)
    if answer is None or answer.role != "assistant" or answer.reply_to_message_id is None:
        raise InvalidInputError("That answer no longer exists.")
    conversation = await services.conversations.get(answer.conversation_id)
    if conversation is None or conversation.closed_at is not None:
        raise InvalidInputError("That conversation has ended; start a new one with /chat.")
    # An older answer can never be regenerated, so say that before "wait" (a newer answer
    # may still be finishing its bookkeeping when a stale button is clicked).
    question, latest = await latest_exchange(services, conversation.id)
    if latest is None or latest.id != answer_id or question is None:
        raise InvalidInputError("Only the latest answer can be regenerated.")
    if question.id != answer.reply_to_message_id:
        raise InvalidInputError("Only the latest answer can be regenerated.")
    if services.chat.running_answer(conversation.id) is not None:
        raise InvalidInputError("Wait until the current answer has finished.")
    return conversation, question


async def mark_replaced(
    services: Services, client: discord.Client, answer_id: int, note: str
) -> None:
    """Take the buttons off an answer's last message and say it was replaced (paced)."""
    refs = await services.messages.discord_messages(answer_id)
    if not refs:
        return
    ref = refs[-1]
    channel = client.get_partial_messageable(ref.channel_id)
    message = channel.get_partial_message(ref.discord_message_id)

    async def edit() -> None:
        try:
            shown = await channel.fetch_message(ref.discord_message_id)
        except discord.NotFound:
            return
        content = shown.content if note in shown.content else f"{shown.content}\n{note}"
        await message.edit(content=content[:2000], view=None, allowed_mentions=NO_MENTIONS)

    services.pacer.submit(
        ("replaced", answer_id), services.channel_lane(ref.channel_id), 1, edit, final=True
    )


async def retire_regenerate(
    services: Services, client: discord.Client, conversation_id: int, new_answer_id: int
) -> None:
    """A new answer starts: the previous latest answer no longer offers Regenerate."""
    recent = await services.messages.history(conversation_id, limit=_RECENT)
    earlier = [
        m
        for m in recent
        if m.role == "assistant" and m.id < new_answer_id and m.status in ("complete", "stopped")
    ]
    if not earlier:
        return
    refs = await services.messages.discord_messages(earlier[-1].id)
    if not refs:
        return
    ref = refs[-1]
    message = client.get_partial_messageable(ref.channel_id).get_partial_message(
        ref.discord_message_id
    )

    async def edit() -> None:
        await message.edit(view=None, allowed_mentions=NO_MENTIONS)

    key: Any = ("regenerate-off", earlier[-1].id)
    services.pacer.submit(key, services.channel_lane(ref.channel_id), 1, edit, final=True)
