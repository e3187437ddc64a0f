"""After a crash: answers left `streaming` become `interrupted`, and say so in Discord.

Runs in `setup_hook` (REST works after login, before the gateway connects). Each answer's
Discord messages are found through the ids recorded while it streamed. What a member saw is
kept as it was shown (the words saved while streaming can be a second behind the screen):
each message is read back, its buttons removed, tool lines still marked ⏳ say they were cut
off, and the last one gets the "interrupted" trailer, with the sources the answer had cited
so far (a search tool's results, the provider's own web search, both as stored); the edits go
through the pacer like any final state. An answer whose messages are gone is just recorded.
"""

from __future__ import annotations

import json
import logging

import discord

from bot.deps import Services
from bot.discord_ui.answer import interrupted_content
from bot.discord_ui.replies import NO_MENTIONS
from bot.discord_ui.views import view_for
from bot.llm.citations import stored_sources
from bot.storage.models import DiscordMessageRef, StoredMessage

log = logging.getLogger(__name__)


async def recover_interrupted_answers(client: discord.Client, services: Services) -> int:
    """Mark and re-render every answer a crash left streaming; returns how many."""
    answers = await services.messages.mark_streaming_as_interrupted()
    for answer in answers:
        refs = await services.messages.discord_messages(answer.id)
        sources = await _sources(services, answer.id) if refs else []
        for ref in refs:
            await _show_interrupted(
                client, services, answer, ref, last=ref is refs[-1], sources=sources
            )
    if answers:
        log.warning(
            "%d answers were interrupted by a restart; their messages now say so", len(answers)
        )
    return len(answers)


async def _sources(services: Services, answer_id: int) -> list[tuple[str, str]]:
    """What the answer cited before the restart, in order: its tools' results (through each
    tool's cite extractor, as while streaming) and its rounds' provider citations."""
    stored = await services.messages.get(answer_id)
    if stored is None:
        return []
    found: list[tuple[str, str]] = []
    by_round = {a.round: a for a in stored.artefacts}
    rounds = sorted({step.round for step in stored.steps} | set(by_round))
    for round_no in rounds:
        saved = by_round.get(round_no)
        if saved is not None:
            try:
                data = json.loads(saved.data)
            except ValueError:
                data = None
            if isinstance(data, dict):
                found += stored_sources(data)
        for step in stored.steps:
            tool = services.tools.get(step.tool_name or "") if step.round == round_no else None
            if step.kind == "tool_result" and step.tool_status == "ok" and tool and tool.cite:
                try:
                    found += tool.cite(step.content)
                except Exception:
                    log.warning("citations of tool %s failed", step.tool_name, exc_info=True)
    return found


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
    sources: list[tuple[str, str]],
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
        interrupted_content(
            answer.id, settle_tool_lines(shown.content), answer.model, sources=sources
        )
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
