"""The environment of a `python -m bot` process pointed at the fakes (tests and benchmarks).

`clean_env()` is this process's environment without any Switchboard setting (so a developer's
own shell or `.env` values never leak into a run) and with the repository importable;
`bot_env()` adds the settings that point the bot at a running FakeDiscord and FakeLLMServer.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]
_SETTING_PREFIXES = ("DISCORD_", "LLM_", "LOG_", "DATABASE_", "SHARD_")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTING_PREFIXES)}
    env["PYTHONPATH"] = str(ROOT)
    return env


def bot_env(fake: FakeDiscord, llm: FakeLLMServer, database: Path, **extra: str) -> dict[str, str]:
    assert fake.guild is not None
    env = clean_env()
    env.update(
        DISCORD_TOKEN=fake.token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        LLM_BASE_URL=llm.base_url,
        LLM_MODEL="fake-model",
        DATABASE_PATH=str(database),
        DEV_GUILD_ID=str(fake.guild.id),
        # A thread's title is one more model call after its first answer, which would take
        # the answers scripted for the next turns; tests of titles switch it back on.
        TITLE_MODEL="off",
    )
    env.update(extra)
    return env
