"""The discord-shards benchmark's rows: 429s judged against zero, and the staleness of two
shard processes judged as a ratio to one process at the same share (no timing asserted)."""

from __future__ import annotations

from bench.discord_probe import AnswerRecord, LevelRun
from bench.discord_shards import STALENESS_RATIO_TARGET, results
from tests.fakes.discord_server import FakeInteraction, FakeUser


def _run(n: int, staleness: float, *, hits: int = 0) -> LevelRun:
    interaction = FakeInteraction(5, "t", 2, FakeUser(4, "alice"), 2, None, {}, created_at=0.0)
    answers = [
        AnswerRecord(k, {1: 0.0, 2: 1.0}, {1: staleness, 2: 1.0 + staleness}, 3, interaction)
        for k in range(n)
    ]
    return LevelRun(n, 2, answers, hits, {"PATCH x": hits} if hits else {}, 1.0, 0.1, 0.1)


def test_discord_shards_results_judge_429s_and_the_same_share_ratio() -> None:
    rows = {r.name: r for r in results(_run(4, 2.1), _run(2, 2.0), _run(2, 1.0))}
    assert rows["2 shards N=4 429s received"].met is True
    ratio = rows["2 shards N=4 / 1 process N=2 at the same share"]
    assert abs(ratio.value - 1.05) < 1e-9 and ratio.met is True
    assert ratio.target is not None and ratio.target.limit == STALENESS_RATIO_TARGET
    # Against the default share: reported, not judged.
    informational = rows["2 shards N=4 / 1 process N=2 at 45/s"]
    assert abs(informational.value - 2.1) < 1e-9 and informational.target is None


def test_discord_shards_results_fail_on_a_429_or_a_slower_shard() -> None:
    rows = {r.name: r for r in results(_run(4, 2.5, hits=1), _run(2, 2.0), _run(2, 1.0))}
    assert rows["2 shards N=4 429s received"].met is False
    assert rows["2 shards N=4 / 1 process N=2 at the same share"].met is False
