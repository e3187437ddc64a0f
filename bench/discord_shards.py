"""The `discord-shards` group: two shard processes against one one-process reference.

Discord's global limit (50 requests a second) is per bot, however many processes run it, so
two processes each get a share (DISCORD_GLOBAL_RATE=22, 44/s together). The group runs, each
on a fresh fake Discord that routes every server's events to its shard and counts the global
limit for the bot as a whole, as Discord does:

- two shard processes (`SHARD_COUNT=2`, `SHARD_IDS=0` / `1`, one database) with N = 200
  concurrent `/chat` answers, 100 on a server of each shard;
- one process with N = 100 at the same share (22/s): what each shard process does alone;
- one process with N = 100 at the default share (45/s), for information.

Judged: no 429 with two processes, and their staleness p95 within 10 % of one process at
N = 100 with the same share (sharding costs nothing per answer). Against one process at
45/s, staleness roughly doubles at N = 200: the bot's global budget is shared by twice the
answers, which no number of processes changes (only a bigger global limit from Discord).
Quick: N = 4 over two processes against N = 2 in one, 20 words per answer.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from pathlib import Path

from bench.bot_process import bot_process
from bench.discord import percentile
from bench.discord_probe import LevelRun, TimedLLMServer, measure, run_level
from bench.results import Result, Target
from tests.fakes.discord_server import FakeDiscord

GROUP = "discord-shards"
SHARE = 22.0  # DISCORD_GLOBAL_RATE of each of the two processes: 44/s against Discord's 50
DEFAULT_RATE = 45.0
FULL_N, QUICK_N = 200, 4
FULL_WORDS, QUICK_WORDS = 200, 20
STALENESS_RATIO_TARGET = 1.10


async def run_sharded_level(
    n: int, words: int, *, shards: int = 2, global_rate: float, db_dir: Path | None = None
) -> LevelRun:
    """N concurrent /chat answers spread over `shards` servers, one per shard, each shard run
    by its own bot process (SHARD_COUNT, SHARD_IDS, DISCORD_GLOBAL_RATE=`global_rate`) on one
    database; the fake Discord routes each server's events to its shard and counts Discord's
    global limit for the bot as a whole, as Discord does."""
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-", dir=db_dir) as tmp:
        llm = TimedLLMServer(words)
        fake = FakeDiscord(
            default_world=False, shards=shards, max_concurrency=shards, identify_window=5.0
        )
        parents = []
        for shard in range(shards):
            guild = fake.add_guild(f"shard-{shard}", shard=(shard, shards))
            channel = fake.add_text_channel(guild.id, "general")
            user = fake.add_member(guild.id, f"member-{shard}").user
            parents.append(channel.id)
            if shard == 0:  # the defaults bot_env reads (DEV_GUILD_ID)
                fake.guild, fake.channel, fake.user = guild, channel, user
        async with fake, llm, contextlib.AsyncExitStack() as stack:
            pids = []
            for shard in range(shards):
                env = {
                    "SHARD_COUNT": str(shards),
                    "SHARD_IDS": str(shard),
                    "DISCORD_GLOBAL_RATE": f"{global_rate:g}",
                }
                running = bot_process(fake, llm, Path(tmp), name=f"shard-{shard}", env=env)
                pids.append((await stack.enter_async_context(running)).process.pid)
            return await measure(fake, llm, pids, parents, n, words)


def staleness_p95(run: LevelRun) -> float:
    return percentile([s for a in run.answers for s in a.staleness_s()], 95)


def _missing(run: LevelRun) -> int:
    return sum(a.missing_words for a in run.answers) + sum(
        run.words - len(a.written) for a in run.answers
    )


def _load(run: LevelRun) -> str:
    """What else could have made words late: the fakes' own event loop and the bots' CPU."""
    lag = percentile(run.fakes_loop_lag_s, 95) * 1000
    return (
        f"p50 {percentile([s for a in run.answers for s in a.staleness_s()], 50):.2f} s; "
        f"fakes' loop lag p95 {lag:.0f} ms; CPU: bots {run.bot_cpu_s:.1f} s, fakes "
        f"{run.fakes_cpu_s:.1f} s in {run.wall_s:.1f} s wall"
    )


def _hits(run: LevelRun) -> str:
    routes = ", ".join(f"{k}: {v}" for k, v in sorted(run.rate_limit_hits.items()))
    return f"{run.total_429s} 429s" + (f" ({routes})" if routes else "")


def results(sharded: LevelRun, same_share: LevelRun, default_rate: LevelRun) -> list[Result]:
    p95 = staleness_p95(sharded)
    ref = staleness_p95(same_share)
    ref_default = staleness_p95(default_rate)
    tag = f"2 shards N={sharded.n}"
    hits = ", ".join(f"{k}: {v}" for k, v in sorted(sharded.rate_limit_hits.items()))
    return [
        Result(GROUP, f"{tag} 429s received", float(sharded.total_429s), "", Target(1), note=hits),
        Result(
            GROUP,
            f"{tag} staleness p95",
            p95,
            "s",
            note=f"{sharded.finished}/{sharded.n} answers finished; {_missing(sharded)} words "
            f"never visible; {_load(sharded)}",
        ),
        Result(
            GROUP,
            f"1 process N={same_share.n} at {SHARE:g}/s staleness p95",
            ref,
            "s",
            note=f"{_hits(same_share)}; the same share as each shard process; " + _load(same_share),
        ),
        Result(
            GROUP,
            f"{tag} / 1 process N={same_share.n} at the same share",
            p95 / ref if ref > 0 else math.nan,
            "x",
            Target(STALENESS_RATIO_TARGET),
        ),
        Result(
            GROUP,
            f"1 process N={default_rate.n} at {DEFAULT_RATE:g}/s staleness p95",
            ref_default,
            "s",
            note=f"{_hits(default_rate)}; {_load(default_rate)}",
        ),
        Result(
            GROUP,
            f"{tag} / 1 process N={default_rate.n} at {DEFAULT_RATE:g}/s",
            p95 / ref_default if ref_default > 0 else math.nan,
            "x",
            note="informational: one global limit per bot, shared by twice the answers",
        ),
    ]


async def run(quick: bool) -> list[Result]:
    n = QUICK_N if quick else FULL_N
    words = QUICK_WORDS if quick else FULL_WORDS
    sharded = await run_sharded_level(n, words, global_rate=SHARE)
    same_share = await run_level(n // 2, words, global_rate=SHARE)
    default_rate = await run_level(n // 2, words, global_rate=DEFAULT_RATE)
    return results(sharded, same_share, default_rate)
