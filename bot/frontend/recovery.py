"""After a crash: answers left `streaming` become `interrupted`, and say so in Discord.

Only answers of dead owners are taken (`bot.storage.owners`): a process whose heartbeat is
stale or gone, and at start-up also answers with no owner (from before owners existed);
a live sibling process's answers are never touched. It runs in `setup_hook` (REST works
after login, before the gateway connects) and then every `SWEEP_EVERY_S` while the bot runs
(`sweep_orphans`, which also frees dead owners' budget holds), so a sibling that crashed
mid-answer does not leave it `streaming` for good. Discord's REST API is not sharded: the
process that recovers an answer edits its messages whichever shard serves their channel,
so the member sees that it was cut off (the dead sibling can't). Each answer's
Discord messages are found through the ids recorded while it streamed. What a member saw is
kept as it was shown (the words saved while streaming can be a second behind the screen):
each message is read back, its buttons removed, tool lines still marked ⏳ say they were cut
off, and the last one gets the "interrupted" trailer, with the sources the answer had cited
so far (a search tool's results, the provider's own web search, both as stored); the edits go
through the pacer like any final state. An answer whose messages are gone is just recorded.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

import discord

from bot.deps import Services
from bot.discord_ui.answer import interrupted_content
from bot.discord_ui.replies import NO_MENTIONS
from bot.discord_ui.views import view_for
from bot.errors import DatabaseUnavailableError
from bot.llm.citations import stored_sources
from bot.storage.models import DiscordMessageRef, StoredMessage
from bot.storage.owners import SWEEP_EVERY_S, forget_dead

log = logging.getLogger(__name__)


async def recover_at_start(
    client: discord.Client, services: Services, shard_ids: Sequence[int]
) -> None:
    """Once this process holds the claims of `shard_ids`: retire the dead runs that held
    them before (`Heartbeats.take_over`), then free the holds and recover the answers of every dead
    owner, and those from before owners existed. Holds left by a crash would block budgets
    forever; a live sibling's calls are still in flight and keep theirs."""
    await services.heartbeats.take_over(shard_ids)
    await services.meter.release_orphaned(unowned=True)
    await recover_interrupted_answers(client, services, unowned=True)


async def recover_interrupted_answers(
    client: discord.Client, services: Services, *, unowned: bool = True
) -> int:
    """Mark and re-render the answers dead owners left streaming (with `unowned`, as at
    start-up, also those with no owner); returns how many."""
    answers = await services.messages.interrupt_orphaned(unowned=unowned)
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


async def sweep_orphans(
    client: discord.Client, services: Services, *, every_s: float = SWEEP_EVERY_S
) -> None:
    """Forever: every `every_s`, free the holds and recover the answers of owners that died
    while this process runs, and forget their heartbeat rows."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await services.meter.release_orphaned()
            await recover_interrupted_answers(client, services, unowned=False)
            await forget_dead(services.db)
        except DatabaseUnavailableError:
            pass  # PostgreSQL is gone: the reconnecting says so; the next sweep catches up
        except Exception:
            log.exception("sweep for answers and holds of stopped processes failed")


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
