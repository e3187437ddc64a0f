"""Wires the running bot: logging, then resources opened with `async with`, then Discord."""

from __future__ import annotations

import logging
import sys

from bot.logs import setup_logging
from bot.settings import Settings

log = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    secrets = [settings.discord_token.get_secret_value(), settings.llm_api_key.get_secret_value()]
    setup_logging(settings.log_level, settings.log_format, secrets)
    # The Discord front end (issue 3) plugs in here; until then say so plainly.
    print(
        "Switchboard: settings are valid; the Discord front end is not built yet.", file=sys.stderr
    )
    raise SystemExit(1)
