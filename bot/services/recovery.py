"""After a crash: answers left `streaming` become `interrupted`, and say so in Discord.

Runs in `setup_hook` (REST works after login, before the gateway connects). Each answer's
Discord messages are found through the ids recorded while it streamed and edited through the
pacer like any final state; an answer whose messages are gone is just recorded.
"""

from __future__ import annotations

import logging

import discord

from bot.deps import Services
from bot.discord_ui.answer import NO_MENTIONS, render_interrupted
from bot.discord_ui.views import view_for

log = logging.getLogger(__name__)


async def recover_interrupted_answers(client: discord.Client, services: Services) -> int:
    """Mark and re-render every answer a crash left streaming; returns how many."""
    answers = await services.messages.mark_streaming_as_interrupted()
    for answer in answers:
        refs = await services.messages.discord_messages(answer.id)
        if not refs:
            continue
        payloads = render_interrupted(answer.id, answer.content, answer.model)
        # The stored text may need fewer parts than were shown, or more: fit the trailer on
        # the last message the answer already has rather than posting new ones.
        if len(payloads) > len(refs):
            payloads = [*payloads[: len(refs) - 1], payloads[-1]]
        for ref, payload in zip(refs, payloads, strict=False):
            channel = client.get_partial_messageable(ref.channel_id)
            message = channel.get_partial_message(ref.discord_message_id)

            async def edit(
                message: discord.PartialMessage = message, content: str = payload.content
            ) -> None:
                await message.edit(content=content, view=view_for(()), allowed_mentions=NO_MENTIONS)

            services.pacer.submit(
                ("recovery", answer.id, ref.position),
                services.channel_lane(ref.channel_id),
                1,
                edit,
                final=True,
            )
    if answers:
        log.warning(
            "%d answers were interrupted by a restart; their messages now say so", len(answers)
        )
    return len(answers)
