"""Yes/no questions to members with two buttons, waited for with a timeout.

Used to approve a tool that acts (Approve / Deny, for the member who asked or an admin) and
to accept the cost of large attachments before the model is called (Continue / Cancel, for
the member who sent them). No answer in time counts as No; a click on a question the bot no
longer waits for (a restart, a timeout) says it expired instead of doing nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import discord

from bot.discord_ui.replies import NO_MENTIONS, reply
from bot.discord_ui.views import question_view

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Question:
    channel_id: int
    text: str  # what is asked (markdown; never pings: sent without mentions)
    asker_id: int | None  # who may answer, besides admins when `admins_may`
    yes_label: str
    no_label: str
    yes_note: str  # the line the message keeps after Yes, e.g. "✅ Approved"
    no_note: str
    timeout_s: float
    admins_may: bool = True
    reply_to: discord.Message | None = None


@dataclass(slots=True)
class _Waiting:
    decision: asyncio.Future[bool]
    question: Question


class Questions:
    """Asks questions and receives the clicks on their buttons (`client.question_actions`)."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self._waiting: dict[str, _Waiting] = {}

    async def ask(self, question: Question) -> bool:
        """Post the question and wait for the answer; False on No, timeout or failure."""
        token = secrets.token_hex(8)
        waiting = _Waiting(asyncio.get_running_loop().create_future(), question)
        self._waiting[token] = waiting
        view = question_view(token, question.yes_label, question.no_label)
        timeout_line = f"-# No answer in {question.timeout_s:.0f} s counts as {question.no_label}."
        content = f"{question.text}\n{timeout_line}"
        try:
            if question.reply_to is not None:
                prompt = await question.reply_to.reply(
                    content, view=view, allowed_mentions=NO_MENTIONS, mention_author=False
                )
            else:
                channel = self._client.get_partial_messageable(question.channel_id)
                prompt = await channel.send(content, view=view, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not ask a question: %s", exc)
            self._waiting.pop(token, None)
            return False
        try:
            async with asyncio.timeout(question.timeout_s):
                return await asyncio.shield(waiting.decision)
        except TimeoutError:
            line = f"⌛ No answer within {question.timeout_s:.0f} s: {question.no_label.lower()}."
            await _settle(prompt, question.text, line)
            return False
        finally:
            self._waiting.pop(token, None)

    async def decide(self, interaction: discord.Interaction[Any], token: str, yes: bool) -> None:
        """A click on one of a question's buttons."""
        waiting = self._waiting.get(token)
        message = interaction.message
        head = message.content.split("\n-# ")[0] if message is not None else ""
        if waiting is None or waiting.decision.done():
            await interaction.response.edit_message(
                content=f"{head}\n⌛ This request has expired.", view=None
            )
            return
        question = waiting.question
        permissions = interaction.permissions
        admin = question.admins_may and (permissions.administrator or permissions.manage_guild)
        if interaction.user.id != question.asker_id and not admin:
            who = "the member who asked, or an admin" if question.admins_may else "the member"
            await reply(interaction, f"Only {who} can decide this.")
            return
        waiting.decision.set_result(yes)
        note = question.yes_note if yes else question.no_note
        await interaction.response.edit_message(
            content=f"{head}\n{note} by {interaction.user.display_name}.",
            view=None,
            allowed_mentions=NO_MENTIONS,
        )


async def _settle(prompt: discord.Message, text: str, line: str) -> None:
    try:
        await prompt.edit(content=f"{text}\n{line}", view=None, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.info("could not update a question: %s", exc)
