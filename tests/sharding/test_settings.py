"""SHARD_COUNT, SHARD_IDS and DISCORD_GLOBAL_RATE: parsed from the environment, and one clear
start-up line for each wrong value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings, describe_errors, run_shards
from tests.fakes.bot_env import clean_env


def settings(**env: str) -> Settings:
    return Settings(discord_token="t", llm_model="m", **env)  # type: ignore[arg-type]


def problems(**env: str) -> list[str]:
    with pytest.raises(ValidationError) as error:
        settings(**env)
    return describe_errors(error.value)


def test_shard_settings_default_to_every_recommended_shard() -> None:
    plain = settings()
    assert (plain.shard_count, plain.shard_ids, plain.discord_global_rate) == (None, (), 45.0)
    assert run_shards(plain) == (None, None)
    assert run_shards(settings(shard_count="2", shard_ids="")) == (2, None)
    assert run_shards(settings(shard_count="4", shard_ids=" 3, 1")) == (4, [1, 3])
    assert settings(discord_global_rate="22.5").discord_global_rate == 22.5


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"shard_count": "2", "shard_ids": "0,2"}, "SHARD_IDS is invalid: 2: shard ids run from 0"),
        ({"shard_ids": "1"}, "SHARD_IDS is invalid: needs SHARD_COUNT"),
        ({"shard_count": "2", "shard_ids": "1,1"}, "SHARD_IDS is invalid: lists a shard twice"),
        ({"shard_count": "2", "shard_ids": "one"}, "SHARD_IDS is invalid: Input should be a"),
        ({"shard_count": "0"}, "SHARD_COUNT is invalid: Input should be greater than or equal"),
        ({"discord_global_rate": "0"}, "DISCORD_GLOBAL_RATE is invalid: Input should be greater"),
    ],
)
def test_shard_settings_wrong_values_get_one_line_each(env: dict[str, str], expected: str) -> None:
    lines = problems(**env)
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_shard_settings_bad_ids_stop_start_up_with_exit_2(tmp_path: Path) -> None:
    env = clean_env() | {
        "DISCORD_TOKEN": "t",
        "LLM_MODEL": "m",
        "SHARD_COUNT": "2",
        "SHARD_IDS": "0,5",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,  # no developer's .env
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "SHARD_IDS is invalid: 5: shard ids run from 0 to SHARD_COUNT - 1 (1)" in done.stderr
    assert "Traceback" not in done.stderr
