"""The `discord` group: N concurrent streaming answers against Discord's rate limits.

For N = 1, 10, 50, 200 (quick: 1, 3), each on a fresh fake Discord (default limits: edits and
creates 5 per 5 s per channel, webhooks 5 per 2 s, global 50/s), fake LLM and bot process
(`python -m bot`, as in production; the fakes stay in this process), N `/chat` commands are
invoked at once; every answer streams ~10 s of numbered words (quick: ~1 s) into
its own thread. `bench.discord_probe` does one run; this module turns it into table rows:
429s received, edits per answer, first token → first visible text, staleness (word written →
visible) p50/p95, `/chat` → first visible text (median and max), stream end → final state
visible, and interaction acknowledgement time, plus informational load figures (the bot's and
the fakes' CPU, and the fakes' event-loop lag, which would delay the timestamps).
"""

from __future__ import annotations

import math
import statistics

from bench.discord_probe import LevelRun, peak_concurrency, run_level
from bench.results import Result, Target, median

GROUP = "discord"
FULL_LEVELS = (1, 10, 50, 200)
QUICK_LEVELS = (1, 3)
FULL_WORDS = 200  # 200 writes x 50 ms ≈ 10 s of tokens per answer
QUICK_WORDS = 20

ACK_TARGET_MS = 100.0
FIRST_VISIBLE_TARGET_MS = 300.0
# Stream complete → final state on screen, when the channel's bucket has room (N = 1).
FINAL_VISIBLE_TARGET_MS = 150.0
STALENESS_SMALL_N_S = 1.5  # p95 target for N ≤ 10
# Beyond N = 10 the global budget (45 paced sends/s shared by N answers) decides how often
# each answer can be refreshed: about every N / 45 s. The target allows that plus the
# small-N margin.
GLOBAL_SENDS_PER_S = 45.0


def staleness_target(n: int) -> float:
    if n <= 10:
        return STALENESS_SMALL_N_S
    return n / GLOBAL_SENDS_PER_S + STALENESS_SMALL_N_S


def command_to_visible_target(n: int) -> float | None:
    """Median /chat → first visible text, judged from N = 50 (1.5 s there, 6 s at N = 200).

    Before its text shows, each answer needs two requests under the global limit (its thread
    and its first message), so the median answer waits for about N x 2 / 45 / 2 = N/45 s of
    them; the target allows 35 % on top for Discord's latency and the bot's own work."""
    if n < 50:
        return None
    return round(n / GLOBAL_SENDS_PER_S * 1.35, 2)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank-interpolated percentile (q in 0..100); nan for no values."""
    if not values:
        return math.nan
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def level_results(run: LevelRun) -> list[Result]:
    n = run.n
    tag = f"N={n:<3d}"
    answers = run.answers
    staleness = [s for a in answers for s in a.staleness_s()]
    first = [a.first_visible_s for a in answers if a.first_visible_s is not None]
    acks = [a.interaction.ack_latency for a in answers if a.interaction.ack_latency is not None]
    edits = [float(a.patches) for a in answers]
    waits = [a.command_to_visible_s for a in answers if a.command_to_visible_s is not None]
    ends = [a.end_to_final_s for a in answers if a.end_to_final_s is not None]
    wait_target = command_to_visible_target(n)
    missing = sum(a.missing_words for a in answers) + sum(
        run.words - len(a.written) for a in answers
    )
    hits = ", ".join(f"{k}: {v}" for k, v in sorted(run.rate_limit_hits.items()))
    p95_target = staleness_target(n)
    lag = run.fakes_loop_lag_s
    return [
        Result(GROUP, f"{tag} 429s received", float(run.total_429s), "", Target(1), note=hits),
        Result(
            GROUP,
            f"{tag} edits per answer (mean)",
            statistics.fmean(edits) if edits else math.nan,
            "",
            note=f"max {max(edits, default=math.nan):g}" if n > 1 else "",
        ),
        Result(
            GROUP,
            f"{tag} first token → visible (median)",
            median(first) * 1000,
            "ms",
            Target(FIRST_VISIBLE_TARGET_MS) if n == 1 else None,
        ),
        Result(
            GROUP, f"{tag} first token → visible (max)", max(first, default=math.nan) * 1000, "ms"
        ),
        Result(
            GROUP,
            f"{tag} /chat → first visible (median)",
            median(waits),
            "s",
            Target(wait_target) if wait_target is not None else None,
        ),
        Result(GROUP, f"{tag} /chat → first visible (max)", max(waits, default=math.nan), "s"),
        Result(
            GROUP,
            f"{tag} stream end → final visible (median)",
            median(ends) * 1000,
            "ms",
            Target(FINAL_VISIBLE_TARGET_MS) if n == 1 else None,
            note=f"max {max(ends, default=math.nan) * 1000:.0f} ms" if n > 1 else "",
        ),
        Result(GROUP, f"{tag} staleness p50", percentile(staleness, 50), "s"),
        Result(
            GROUP,
            f"{tag} staleness p95",
            percentile(staleness, 95),
            "s",
            Target(p95_target),
            note=f"max {max(staleness, default=math.nan):.2f} s"
            + (f"; {missing} words never visible" if missing else ""),
        ),
        Result(GROUP, f"{tag} ack (median)", median(acks) * 1000, "ms", Target(ACK_TARGET_MS)),
        Result(
            GROUP,
            f"{tag} ack (max)",
            max(acks, default=math.nan) * 1000,
            "ms",
            Target(ACK_TARGET_MS),
            note="" if len(acks) == n else f"only {len(acks)} of {n} acknowledged",
        ),
        Result(
            GROUP,
            f"{tag} fakes' event-loop lag p95",
            percentile(lag, 95) * 1000,
            "ms",
            note=(
                f"bench process (fake Discord + LLM), not the bot; "
                f"max {max(lag, default=math.nan) * 1000:.0f} ms; "
                f"peak {peak_concurrency(answers)} answers streaming at once; "
                f"CPU: bot {run.bot_cpu_s:.1f} s, fakes {run.fakes_cpu_s:.1f} s "
                f"in {run.wall_s:.1f} s wall; "
                f"{run.finished}/{n} answers finished"
            ),
        ),
    ]


async def run(quick: bool) -> list[Result]:
    levels = QUICK_LEVELS if quick else FULL_LEVELS
    words = QUICK_WORDS if quick else FULL_WORDS
    results: list[Result] = []
    for n in levels:
        results += level_results(await run_level(n, words))
    if results:
        first = results[0]
        rule = (
            "targets: 0 429s; ack < 100 ms; first visible < 300 ms at N=1; stream end → final "
            "visible < 150 ms at N=1; /chat → first visible median < 1.5 s at N=50, < 6 s at "
            "N=200; staleness p95 ≤ 1.5 s for N ≤ 10, ≤ N/45 s + 1.5 s beyond (45 paced "
            "sends/s shared by N)"
        )
        note = f"{first.note}; {rule}" if first.note else rule
        results[0] = Result(first.group, first.name, first.value, first.unit, first.target, note)
    return results
