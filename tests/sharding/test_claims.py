"""Shard claims: held while a process lives, refused to a second one, dropped when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.sharding.claims import FileShardClaims, ShardTakenError
from tests.fakes.bot_env import clean_env


def test_claims_refuse_a_shard_held_elsewhere_and_name_the_holder(tmp_path: Path) -> None:
    first, second = FileShardClaims(tmp_path), FileShardClaims(tmp_path)
    first.claim([0, 1])
    with pytest.raises(ShardTakenError) as refused:
        second.claim([1, 2])
    line = refused.value.problems[0]
    assert line.startswith("shard 1 is already run by another live process (pid ")
    assert f"pid {os.getpid()} on " in line
    assert "SHARD_IDS" in line
    # Refused as a whole: shard 2, free, was not kept either.
    assert second.held == []
    FileShardClaims(tmp_path).claim([2])


def test_claims_several_taken_shards_in_one_line(tmp_path: Path) -> None:
    holder = FileShardClaims(tmp_path)
    holder.claim([0, 1])
    with pytest.raises(ShardTakenError) as refused:
        FileShardClaims(tmp_path).claim([0, 1])
    assert refused.value.problems[0].startswith("shards 0, 1 are already run by")
    assert refused.value.taken.keys() == {0, 1}


def test_claims_released_shards_can_be_claimed_again(tmp_path: Path) -> None:
    first = FileShardClaims(tmp_path)
    first.claim([0])
    first.claim([0])  # already held: nothing changes
    assert first.held == [0]
    first.release()
    second = FileShardClaims(tmp_path)
    second.claim([0])
    assert second.held == [0]


def test_claims_of_a_killed_process_are_free_at_once(tmp_path: Path) -> None:
    """SIGKILL drops the lock with the process: a crash never blocks its successor."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from bot.sharding.claims import FileShardClaims
        FileShardClaims(Path({str(tmp_path)!r})).claim([3])
        print("held", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], env=clean_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(ShardTakenError, match=f"pid {child.pid} on "):
            FileShardClaims(tmp_path).claim([3])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    FileShardClaims(tmp_path).claim([3])
