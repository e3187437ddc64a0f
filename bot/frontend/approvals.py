"""Asking before a tool acts: Approve / Deny buttons in the conversation's channel.

An MCP tool that needs approval (its server's `approval` setting, or a tool the server marks
destructive) waits here: the prompt says which tool and with what (shortened), the member
who asked and admins (Manage Server) may decide, others are told they can't, and no answer
within `APPROVAL_TIMEOUT_SECONDS` counts as Deny. The decision goes back to the model as the
tool's result (a denial as an error result). Buttons are `DynamicItem`s: after a restart a
click on an old prompt says it expired instead of doing nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import discord

from bot.discord_ui.replies import NO_MENTIONS, reply
from bot.discord_ui.views import approval_view
from bot.tools.mcp.manager import ApprovalRequest

log = logging.getLogger(__name__)

ARGUMENTS_SHOWN = 300


@dataclass(slots=True)
class _Waiting:
    decision: asyncio.Future[bool]
    asker_id: int | None
    tool: str


class ApprovalPrompts:
    """The `Approver` of the MCP manager, and what the approval buttons call."""

    def __init__(self, client: discord.Client, timeout_s: float) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._waiting: dict[str, _Waiting] = {}

    async def __call__(self, request: ApprovalRequest) -> bool:
        channel_id = request.context.channel_id
        if channel_id is None:
            return False
        token = secrets.token_hex(8)
        waiting = _Waiting(
            asyncio.get_running_loop().create_future(), request.context.user_id, request.tool.name
        )
        self._waiting[token] = waiting
        channel = self._client.get_partial_messageable(channel_id)
        asker = f"<@{waiting.asker_id}>" if waiting.asker_id is not None else "the member who asked"
        arguments = json.dumps(dict(request.arguments), ensure_ascii=False, default=str)
        if len(arguments) > ARGUMENTS_SHOWN:
            arguments = arguments[: ARGUMENTS_SHOWN - 1] + "…"
        content = (
            f"🔐 The model wants to run `{request.tool.name}` with `{arguments}`.\n"
            f"-# {asker} or an admin may approve it; no answer in "
            f"{self._timeout_s:.0f} s counts as Deny."
        )
        try:
            prompt = await channel.send(
                content, view=approval_view(token), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            log.warning("could not ask for approval of %s: %s", request.tool.name, exc)
            self._waiting.pop(token, None)
            return False
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.shield(waiting.decision)
        except TimeoutError:
            await _settle(prompt, content, f"⌛ No answer within {self._timeout_s:.0f} s: denied.")
            return False
        finally:
            self._waiting.pop(token, None)

    async def decide(
        self, interaction: discord.Interaction[Any], token: str, approve: bool
    ) -> None:
        """A click on Approve or Deny."""
        waiting = self._waiting.get(token)
        message = interaction.message
        if waiting is None or waiting.decision.done():
            await interaction.response.edit_message(
                content=_with(message, "⌛ This request has expired."), view=None
            )
            return
        permissions = interaction.permissions
        allowed = interaction.user.id == waiting.asker_id or (
            permissions.administrator or permissions.manage_guild
        )
        if not allowed:
            await reply(interaction, "Only the member who asked, or an admin, can decide this.")
            return
        waiting.decision.set_result(approve)
        verdict = "✅ Approved" if approve else "⛔ Denied"
        await interaction.response.edit_message(
            content=_with(message, f"{verdict} by {interaction.user.display_name}."),
            view=None,
            allowed_mentions=NO_MENTIONS,
        )


def _with(message: discord.Message | None, line: str) -> str:
    head = message.content.split("\n-# ")[0] if message is not None else ""
    return f"{head}\n{line}" if head else line


async def _settle(prompt: discord.Message, content: str, line: str) -> None:
    try:
        await prompt.edit(
            content=f"{content.split(chr(10) + '-# ')[0]}\n{line}",
            view=None,
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException as exc:
        log.info("could not update an approval prompt: %s", exc)
