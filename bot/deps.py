"""What the cogs are given: the long-lived services, built once in `bot.app`.

Cogs receive these instead of reaching for globals or opening resources of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bot.billing.meter import Meter
from bot.billing.pricing import PriceBook
from bot.discord_ui.lanes import Lane
from bot.discord_ui.pacer import EditPacer
from bot.llm.router import ModelRouter
from bot.llm.tools import ToolRegistry
from bot.services.chat import ChatService
from bot.services.effective_settings import EffectiveSettingsCache
from bot.services.model_catalog import ModelCatalog
from bot.services.titles import ThreadTitles
from bot.services.tool_catalog import ToolCatalog
from bot.settings import Settings
from bot.storage.channel_settings import ChannelSettingsRepository
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from bot.storage.owners import Heartbeats


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    http: aiohttp.ClientSession  # for model endpoints and members' attachments
    conversations: ConversationRepository
    messages: MessageRepository
    channel_settings: ChannelSettingsRepository
    effective_settings: EffectiveSettingsCache
    router: ModelRouter  # every provider's client, by model reference
    tools: ToolRegistry  # the built-in tools
    catalog: ToolCatalog  # built-ins and the MCP servers' tools, as they are now
    chat: ChatService
    titles: ThreadTitles  # its renamer is set once Discord is connected
    pacer: EditPacer
    meter: Meter
    prices: PriceBook  # the one price book: it keeps owner overrides in memory
    models: ModelCatalog  # every provider's model list, cached once for every autocomplete
    heartbeats: Heartbeats  # this process run as an owner of answers and holds
    # Rate-limit lanes of a channel's message edits and creates; tests scale them down.
    channel_lane: Callable[[int], Lane] = Lane.channel
    create_lane: Callable[[int], Lane] = Lane.channel_creates
