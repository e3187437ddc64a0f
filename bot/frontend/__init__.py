"""The Discord side of conversations: which conversation a Discord message belongs to,
threads, the presenter that shows each answer, restart recovery, and the names reports show.

The chat service (`bot.services`) knows no Discord; this package implements its ports
(`PresenterFactory`, `NameSource`) with Discord objects, and the cogs call it. It may import
discord, `bot.discord_ui` and `bot.services`; nothing below it imports it.
"""
