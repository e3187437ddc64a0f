"""After a crash: answers left `streaming` become `interrupted`, and say so in Discord.

Runs in `setup_hook` (REST works after login, before the gateway connects). Each answer's
Discord messages are found through the ids recorded while it streamed. What a member saw is
kept as it was shown (the words saved while streaming can be a second behind the screen):
each message is read back, its buttons removed, tool lines still marked ⏳ say they were cut
off, and the last one gets the "interrupted" trailer; the edits go through the pacer like any
final state. An answer whose messages are gone is just recorded.
"""

from __future__ import annotations

import logging

import discord

from bot.deps import Services
from bot.discord_ui.answer import interrupted_content
from bot.discord_ui.replies import NO_MENTIONS
from bot.discord_ui.views import view_for
from bot.storage.models import DiscordMessageRef, StoredMessage

log = logging.getLogger(__name__)


async def recover_interrupted_answers(client: discord.Client, services: Services) -> int:
    """Mark and re-render every answer a crash left streaming; returns how many."""
    answers = await services.messages.mark_streaming_as_interrupted()
    for answer in answers:
        refs = await services.messages.discord_messages(answer.id)
        for ref in refs:
            await _show_interrupted(client, services, answer, ref, last=ref is refs[-1])
    if answers:
        log.warning(
            "%d answers were interrupted by a restart; their messages now say so", len(answers)
        )
    return len(answers)


def settle_tool_lines(content: str) -> str:
    """Tool lines still showing ⏳ (running when the bot stopped) say they were cut off."""
    lines = content.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("⏳ 🔧 "):
            lines[i] = "⏹️ 🔧 " + line.removeprefix("⏳ 🔧 ") + " → cut off by a restart"
    return "\n".join(lines)


async def _show_interrupted(
    client: discord.Client,
    services: Services,
    answer: StoredMessage,
    ref: DiscordMessageRef,
    *,
    last: bool,
) -> None:
    channel = client.get_partial_messageable(ref.channel_id)
    try:
        shown = await channel.fetch_message(ref.discord_message_id)
    except discord.NotFound:
        return  # deleted (or its thread is gone): nothing left to correct
    except discord.HTTPException as exc:
        log.warning(
            "answer %s: can't read message %s to mark it interrupted: %s",
            answer.id,
            ref.discord_message_id,
            exc,
        )
        return
    if not last and not shown.components:
        return  # an earlier part, already final-looking
    content = (
        interrupted_content(answer.id, settle_tool_lines(shown.content), answer.model)
        if last
        else None
    )
    message = channel.get_partial_message(ref.discord_message_id)

    async def edit() -> None:
        if content is None:
            await message.edit(view=view_for(()), allowed_mentions=NO_MENTIONS)
        else:
            await message.edit(content=content, view=view_for(()), allowed_mentions=NO_MENTIONS)

    services.pacer.submit(
        ("recovery", answer.id, ref.position),
        services.channel_lane(ref.channel_id),
        1,
        edit,
        final=True,
    )
