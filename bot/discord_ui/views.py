"""Buttons on answers: Stop while streaming, Retry after a failure, Regenerate on the latest
answer of a conversation.

They are `DynamicItem`s: the answer id lives in the custom id, so a button keeps working
after a restart without any view being re-registered per message. What a click does is not
decided here (this package knows no services): the bot exposes an `AnswerActions` object as
`client.answer_actions`, which the chat cog provides.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

import discord

from bot.discord_ui.render import (
    REGENERATE_PREFIX,
    RETRY_PREFIX,
    STOP_PREFIX,
    ButtonSpec,
    regenerate_button,
    retry_button,
    stop_button,
)
from bot.discord_ui.replies import reply
from bot.errors import describe
from bot.logs import log_context

_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}


@runtime_checkable
class AnswerActions(Protocol):
    async def stop_answer(self, interaction: discord.Interaction[Any], answer_id: int) -> None: ...

    async def retry_answer(self, interaction: discord.Interaction[Any], answer_id: int) -> None: ...

    async def regenerate_answer(
        self, interaction: discord.Interaction[Any], answer_id: int
    ) -> None: ...


async def _actions(interaction: discord.Interaction[Any]) -> AnswerActions | None:
    actions = getattr(interaction.client, "answer_actions", None)
    if isinstance(actions, AnswerActions):
        return actions
    await interaction.response.send_message("This button isn't available now.", ephemeral=True)
    return None


# How each action's button looks is decided by the renderer (`stop_button`, `retry_button`).
_SPECS = {"stop": stop_button, "retry": retry_button, "regenerate": regenerate_button}


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"switchboard:(?P<action>stop|retry|regenerate):(?P<answer_id>\d+)",
):
    """Stop or Retry on one answer; the action and the answer id live in the custom id."""

    def __init__(self, action: str, answer_id: int) -> None:
        self.action = action
        self.answer_id = answer_id
        spec = _SPECS[action](str(answer_id))
        super().__init__(
            discord.ui.Button(
                style=_STYLES[spec.style],
                label=spec.label,
                emoji=spec.emoji,
                custom_id=spec.custom_id,
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> AnswerButton:
        return cls(match["action"], int(match["answer_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        actions = await _actions(interaction)
        if actions is None:
            return
        try:
            if self.action == "stop":
                await actions.stop_answer(interaction, self.answer_id)
            elif self.action == "retry":
                await actions.retry_answer(interaction, self.answer_id)
            else:
                await actions.regenerate_answer(interaction, self.answer_id)
        except Exception as exc:
            # The same words every entry point uses (bot.errors.describe), to the clicker only.
            with log_context(guild_id=interaction.guild_id, channel_id=interaction.channel_id):
                said = describe(exc, f"{self.action} button")
            await reply(interaction, str(said))


@runtime_checkable
class QuestionActions(Protocol):
    async def decide(
        self, interaction: discord.Interaction[Any], token: str, yes: bool
    ) -> None: ...


QUESTION_PREFIX = "switchboard:question:"


class QuestionButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"switchboard:question:(?P<token>[0-9a-f]+):(?P<choice>yes|no)",
):
    """One answer to a yes/no question the bot asked (approve a tool, accept a cost); the
    question's token lives in the custom id, so a click after a restart is answered too."""

    def __init__(self, token: str, yes: bool, label: str | None = None) -> None:
        self.token = token
        self.yes = yes
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.success if yes else discord.ButtonStyle.danger,
                label=label or ("Yes" if yes else "No"),
                custom_id=f"{QUESTION_PREFIX}{token}:{'yes' if yes else 'no'}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> QuestionButton:
        return cls(match["token"], match["choice"] == "yes")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        actions = getattr(interaction.client, "question_actions", None)
        if not isinstance(actions, QuestionActions):
            await interaction.response.edit_message(view=None)
            return
        try:
            await actions.decide(interaction, self.token, self.yes)
        except Exception as exc:
            with log_context(guild_id=interaction.guild_id, channel_id=interaction.channel_id):
                said = describe(exc, "question button")
            await reply(interaction, str(said))


def question_view(token: str, yes_label: str, no_label: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(QuestionButton(token, True, yes_label))
    view.add_item(QuestionButton(token, False, no_label))
    return view


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (AnswerButton, QuestionButton)


def view_for(buttons: tuple[ButtonSpec, ...]) -> discord.ui.View | None:
    """A view showing `buttons`; None removes any buttons the message had.

    Stop and Retry are added as their `DynamicItem`s, so a click reaches the same callback
    whether the view is still in memory or the bot restarted since.
    """
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for spec in buttons:
        item: discord.ui.Item[Any]
        if spec.custom_id.startswith(STOP_PREFIX):
            item = AnswerButton("stop", int(spec.custom_id.removeprefix(STOP_PREFIX)))
        elif spec.custom_id.startswith(RETRY_PREFIX):
            item = AnswerButton("retry", int(spec.custom_id.removeprefix(RETRY_PREFIX)))
        elif spec.custom_id.startswith(REGENERATE_PREFIX):
            answer_id = int(spec.custom_id.removeprefix(REGENERATE_PREFIX))
            item = AnswerButton("regenerate", answer_id)
        else:
            item = discord.ui.Button(
                style=_STYLES[spec.style],
                label=spec.label,
                emoji=spec.emoji,
                custom_id=spec.custom_id,
            )
        view.add_item(item)
    return view
