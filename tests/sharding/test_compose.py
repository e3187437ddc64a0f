"""compose.yaml: docker cannot run here, so the file is read as Compose would and held to
what it promises: `docker compose up -d` starts the single process; the `shards` profile
adds PostgreSQL and two processes that together run both shards of two, share a volume for
their shard claims, and together stay under Discord's global limit. The profile's shard
settings are also what `test_processes.py` runs its two PostgreSQL shard processes with."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import yaml

from bot.settings import Settings, run_shards
from tests.fakes.bot_env import ROOT


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def services(profile: str | None) -> dict[str, dict[str, Any]]:
    """The services `docker compose [--profile P] up` starts."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if not service.get("profiles") or profile in service["profiles"]
    }


def test_compose_without_a_profile_starts_the_single_process() -> None:
    (name, single), *others = services(None).items()
    assert (name, others) == ("switchboard", [])
    assert single["build"] == "." and single["env_file"] == ".env"
    assert single["environment"]["DATABASE_PATH"].startswith("/data/")
    assert "switchboard-data:/data" in single["volumes"]


def test_compose_shards_profile_runs_every_shard_once_on_postgresql() -> None:
    started = services("shards")
    shards = {name: s for name, s in started.items() if name.startswith("switchboard-shard-")}
    assert set(started) == {"switchboard", "postgres", *shards} and len(shards) == 2
    postgres = started["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    run: list[int] = []
    rates = 0.0
    for service in shards.values():
        env = service["environment"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert env["DATABASE_URL"].startswith("postgresql://switchboard:")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        # The claims live beside DATABASE_PATH: on the volume both processes mount.
        folder = str(PurePosixPath(env["DATABASE_PATH"]).parent)
        assert f"switchboard-data:{folder}" in service["volumes"]
        # Real settings, valid together (DATABASE_URL is read by the storage layer).
        settings = Settings(
            discord_token="t",  # type: ignore[arg-type]
            llm_model="m",
            **{k.lower(): v for k, v in env.items() if k != "DATABASE_URL"},
        )
        count, ids = run_shards(settings)
        assert count == 2 and ids is not None
        run += ids
        rates += settings.discord_global_rate
    assert sorted(run) == [0, 1]
    assert rates < 50  # Discord's global limit is per bot, for all its processes
    assert set(compose()["volumes"]) == {"switchboard-data", "switchboard-postgres"}
