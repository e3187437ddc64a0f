"""Buttons on answers: Stop while streaming, Retry after a failure.

They are `DynamicItem`s: the answer id lives in the custom id, so a button keeps working
after a restart without any view being re-registered per message. What a click does is not
decided here (this package knows no services): the bot exposes an `AnswerActions` object as
`client.answer_actions`, which the chat cog provides.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

import discord

from bot.discord_ui.render import RETRY_PREFIX, STOP_PREFIX, ButtonSpec

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


async def _actions(interaction: discord.Interaction[Any]) -> AnswerActions | None:
    actions = getattr(interaction.client, "answer_actions", None)
    if isinstance(actions, AnswerActions):
        return actions
    await interaction.response.send_message("This button isn't available now.", ephemeral=True)
    return None


class StopButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.escape(STOP_PREFIX) + r"(?P<answer_id>\d+)",
):
    def __init__(self, answer_id: int) -> None:
        self.answer_id = answer_id
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label="Stop",
                emoji="⏹️",
                custom_id=f"{STOP_PREFIX}{answer_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> StopButton:
        return cls(int(match["answer_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        actions = await _actions(interaction)
        if actions is not None:
            await actions.stop_answer(interaction, self.answer_id)


class RetryButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.escape(RETRY_PREFIX) + r"(?P<answer_id>\d+)",
):
    def __init__(self, answer_id: int) -> None:
        self.answer_id = answer_id
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary,
                label="Retry",
                emoji="🔄",
                custom_id=f"{RETRY_PREFIX}{answer_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> RetryButton:
        return cls(int(match["answer_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        actions = await _actions(interaction)
        if actions is not None:
            await actions.retry_answer(interaction, self.answer_id)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (StopButton, RetryButton)


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
            item = StopButton(int(spec.custom_id.removeprefix(STOP_PREFIX)))
        elif spec.custom_id.startswith(RETRY_PREFIX):
            item = RetryButton(int(spec.custom_id.removeprefix(RETRY_PREFIX)))
        else:
            item = discord.ui.Button(
                style=_STYLES[spec.style],
                label=spec.label,
                emoji=spec.emoji,
                custom_id=spec.custom_id,
            )
        view.add_item(item)
    return view
