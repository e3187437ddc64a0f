"""Asking before a tool acts: Approve / Deny in the conversation's channel.

An MCP tool that needs approval (its server's `approval` setting, or a tool the server marks
destructive) waits here: the question says which tool and with what (shortened); the member
who asked and admins (Manage Server) may decide; no answer within `APPROVAL_TIMEOUT_SECONDS`
counts as Deny. The decision goes back to the model as the tool's result (a denial as an
error result).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.frontend.questions import Question, Questions

if TYPE_CHECKING:  # the manager imports the MCP SDK, most of the bot's start-up time
    from bot.tools.mcp.manager import ApprovalRequest

ARGUMENTS_SHOWN = 300


class ApprovalPrompts:
    """The `Approver` of the MCP manager."""

    def __init__(self, questions: Questions, timeout_s: float) -> None:
        self._questions = questions
        self._timeout_s = timeout_s

    async def __call__(self, request: ApprovalRequest) -> bool:
        channel_id = request.context.channel_id
        if channel_id is None:
            return False
        asker_id = request.context.user_id
        asker = f"<@{asker_id}>" if asker_id is not None else "the member who asked"
        arguments = json.dumps(dict(request.arguments), ensure_ascii=False, default=str)
        if len(arguments) > ARGUMENTS_SHOWN:
            arguments = arguments[: ARGUMENTS_SHOWN - 1] + "…"
        text = (
            f"🔐 The model wants to run `{request.tool.name}` with `{arguments}`.\n"
            f"-# {asker} or an admin may approve it."
        )
        return await self._questions.ask(
            Question(
                channel_id=channel_id,
                text=text,
                asker_id=asker_id,
                yes_label="Approve",
                no_label="Deny",
                yes_note="✅ Approved",
                no_note="⛔ Denied",
                timeout_s=self._timeout_s,
            )
        )
