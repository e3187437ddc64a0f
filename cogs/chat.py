"""/chat, /new, /stop, the Stop and Retry buttons, and messages that continue conversations.

Thin: it reads Discord events, checks who may do what, and calls `DiscordFrontend` and the
chat service; replies go through `bot.discord_ui.replies`.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SwitchboardBot
from bot.discord_ui.replies import NO_MENTIONS, reply
from bot.errors import UserFacingError, describe
from bot.frontend.conversations import DiscordFrontend
from bot.frontend.text import strip_mention
from bot.logs import log_context
from bot.services.model_catalog import MODEL_NAME_MAX

log = logging.getLogger(__name__)

ANSWERABLE_TYPES = (discord.MessageType.default, discord.MessageType.reply)


# How long /chat waits for a provider's model list before trusting the name given.
MODEL_CHECK_S = 1.5


class Chat(commands.Cog):
    def __init__(self, bot: SwitchboardBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.frontend = DiscordFrontend(bot.services, bot)

    async def cog_load(self) -> None:
        self.bot.answer_actions = self
        # Context menus can't be declared inside a cog class: added to the tree here.
        self._ask_menu = app_commands.ContextMenu(name="Ask Switchboard", callback=self.ask_about)
        self.bot.tree.add_command(self._ask_menu)

    async def cog_unload(self) -> None:
        self.bot.answer_actions = None
        self.bot.tree.remove_command(self._ask_menu.name, type=self._ask_menu.type)

    # --- slash commands -------------------------------------------------------------------

    @app_commands.command(name="chat", description="Start a conversation with the model.")
    @app_commands.describe(prompt="What to ask or say", model="Model to use for this conversation")
    async def chat(
        self,
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
        model: app_commands.Range[str, 1, MODEL_NAME_MAX] | None = None,
    ) -> None:
        channel = interaction.channel
        if model is not None:
            # Bounded: the command must be acknowledged within Discord's 3 seconds.
            model = await self.services.models.check_choice(model, wait_s=MODEL_CHECK_S)
        if isinstance(channel, discord.TextChannel):
            effective = await self.frontend.settings_for(channel)
            if effective.mode == "threads":
                await self.frontend.start_thread_from_interaction(
                    interaction, channel, prompt, model
                )
                return
        if not isinstance(
            channel, discord.TextChannel | discord.Thread | discord.DMChannel | discord.VoiceChannel
        ):
            raise UserFacingError("I can't hold a conversation in this kind of channel.")
        conversation = await self.frontend.rolling_conversation(channel, interaction.user.id)
        await self.frontend.continue_with_prompt(interaction, conversation, prompt, model)

    @chat.autocomplete("model")
    async def _model_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        names = await self.services.models.suggest(current)
        return [app_commands.Choice(name=n, value=n) for n in names]

    async def ask_about(
        self, interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        """The `Ask Switchboard` message menu: a thread on that message, answered at once."""
        channel = interaction.channel
        if not isinstance(channel, discord.TextChannel):
            raise UserFacingError("Ask Switchboard works on messages in text channels.")
        await self.frontend.ask_about(interaction, channel, message)

    @app_commands.command(name="new", description="Start a fresh conversation in this channel.")
    async def new(self, interaction: discord.Interaction[Any]) -> None:
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            await reply(
                interaction,
                "A thread is one conversation. Use /chat in the channel to start another.",
            )
            return
        conversation = await self.frontend.conversation_in(interaction.channel_id or 0)
        if conversation is None:
            await reply(interaction, "There is no conversation here yet: just write.")
            return
        await self.services.conversations.close(conversation.id)
        await reply(
            interaction,
            f"🆕 **{interaction.user.display_name}** started a fresh conversation; "
            "earlier messages here are no longer remembered.",
            ephemeral=False,
        )

    @app_commands.command(name="stop", description="Stop the answer being written here.")
    async def stop(self, interaction: discord.Interaction[Any]) -> None:
        conversation = await self.frontend.conversation_in(interaction.channel_id or 0)
        answer_id = (
            self.services.chat.running_answer(conversation.id) if conversation is not None else None
        )
        if conversation is None or answer_id is None:
            await reply(interaction, "Nothing is being answered here right now.")
            return
        if not await self._may_control(interaction, answer_id):
            return
        self.services.chat.stop(conversation.id)
        await reply(interaction, "⏹️ Stopped.")

    # --- buttons (bot.discord_ui.views.AnswerActions) -------------------------------------

    async def stop_answer(self, interaction: discord.Interaction[Any], answer_id: int) -> None:
        answer = await self.services.messages.get(answer_id)
        running = (
            self.services.chat.running_answer(answer.conversation_id)
            if answer is not None
            else None
        )
        if answer is None or running != answer_id:
            await reply(interaction, "This answer has already finished.")
            return
        if not await self._may_control(interaction, answer_id):
            return
        self.services.chat.stop(answer.conversation_id)
        await interaction.response.defer()  # the answer's own message shows "Stopped"

    async def retry_answer(self, interaction: discord.Interaction[Any], answer_id: int) -> None:
        if not await self._may_control(interaction, answer_id):
            return
        try:
            await self.frontend.retry(answer_id, interaction.channel)
        except Exception as exc:
            await reply(interaction, str(describe(exc, "retry")))
            return
        # Acknowledge by removing the Retry button from the failed answer.
        await interaction.response.edit_message(view=None)

    async def regenerate_answer(
        self, interaction: discord.Interaction[Any], answer_id: int
    ) -> None:
        if not await self._may_control(interaction, answer_id):
            return
        try:
            await self.frontend.regenerate(answer_id, interaction.channel)
        except Exception as exc:
            await reply(interaction, str(describe(exc, "regenerate")))
            return
        await interaction.response.defer()  # the old answer's message says it was replaced

    async def _may_control(self, interaction: discord.Interaction[Any], answer_id: int) -> bool:
        """Whoever asked, or anyone who may manage messages here, may stop or retry."""
        answer = await self.services.messages.get(answer_id)
        question = (
            await self.services.messages.get(answer.reply_to_message_id)
            if answer is not None and answer.reply_to_message_id is not None
            else None
        )
        if question is None or question.author_id in (None, interaction.user.id):
            return True
        permissions = interaction.permissions
        if permissions.manage_messages:
            return True
        await reply(
            interaction, f"Only {question.author_name or 'the asker'} or a moderator can do that."
        )
        return False

    # --- messages -------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None:
            return
        if message.type not in ANSWERABLE_TYPES or self.bot.user is None:
            return
        try:
            await self._route(message)
        except Exception as exc:
            guild_id = message.guild.id if message.guild is not None else None
            with log_context(guild_id=guild_id, channel_id=message.channel.id):
                said = describe(exc, "message")
            try:
                await message.reply(str(said), mention_author=False, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as failed:
                log.warning("could not tell the member about a failure: %s", failed)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A member edited a message: their latest one in a conversation is answered anew."""
        message = payload.message
        if message.author.bot or self.bot.user is None or message.webhook_id is not None:
            return
        before = payload.cached_message
        if before is not None and before.content == message.content:
            return  # an embed appeared, a pin changed: not an edit of the words
        try:
            await self.frontend.edited(message, strip_mention(message.content, self.bot.user.id))
        except Exception as exc:
            guild_id = message.guild.id if message.guild is not None else None
            with log_context(guild_id=guild_id, channel_id=message.channel.id):
                describe(exc, "message edit")

    async def _route(self, message: discord.Message) -> None:
        assert self.bot.user is not None
        channel = message.channel
        mentioned = self.bot.user in message.mentions
        text = strip_mention(message.content, self.bot.user.id)
        if not text and not message.attachments and not mentioned:
            return  # nothing we can read (the Message Content intent may be off)
        if isinstance(channel, discord.DMChannel):
            conversation = await self.frontend.rolling_conversation(channel, message.author.id)
            await self.frontend.continue_with_message(conversation, message, text)
            return
        if isinstance(channel, discord.Thread):
            existing = await self.frontend.conversation_in(channel.id)
            starts = existing is None and mentioned
            if starts:
                # A mention in a thread that is no conversation yet: the thread's recent
                # messages go to the model as context.
                existing = await self.frontend.rolling_conversation(channel, message.author.id)
            if existing is not None:
                await self.frontend.continue_with_message(
                    existing, message, text, with_context=starts
                )
            return
        if not isinstance(channel, discord.TextChannel | discord.VoiceChannel):
            return
        effective = await self.frontend.settings_for(channel)
        if effective.mode == "inline":
            conversation = await self.frontend.rolling_conversation(channel, message.author.id)
            await self.frontend.continue_with_message(conversation, message, text)
        elif mentioned and effective.mentions and isinstance(channel, discord.TextChannel):
            await self.frontend.start_thread_from_message(message, channel, text)


async def setup(bot: commands.Bot) -> None:
    assert isinstance(bot, SwitchboardBot)
    await bot.add_cog(Chat(bot))
