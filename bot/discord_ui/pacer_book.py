"""The edit pacer's books: every target by key, every lane, which lanes have updates waiting,
and what is remembered of targets that finished.

No timing decisions and no I/O: `bot.discord_ui.pacer` decides when updates move; this module
keeps the states consistent (a target waits in its lane exactly while it has a pending update,
and is remembered as `FinishedTarget` once its final state landed or it failed).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace

from bot.discord_ui.lanes import Lane, LaneClock
from bot.discord_ui.pacer_targets import FinishedTarget, LaneState, PacerStats, Target, Update

# Finished targets remembered so late `wait_landed` calls and submits to deleted messages
# get the right answer; bounded so a long-running bot does not grow without limit.
DONE_MEMORY = 4096


class PacerBook:
    def __init__(self, stats: PacerStats) -> None:
        self.stats = stats
        self.targets: dict[Hashable, Target] = {}
        self.lanes: dict[str, LaneState] = {}
        self.ready: dict[str, LaneState] = {}  # lanes with at least one waiting target
        self.done: OrderedDict[Hashable, FinishedTarget] = OrderedDict()
        self.global_live = 0  # tracked targets in lanes that count toward the global limit

    @property
    def queued(self) -> int:
        """Targets with an update waiting to be sent."""
        return sum(len(state.waiting) for state in self.ready.values())

    def offer(self, key: Hashable, lane: Lane, update: Update) -> bool:
        """Make `update` the state to show for target `key`, replacing any unsent one (which
        hands on its urgency and age). Returns True when the scheduler must look again: the
        target started waiting, or its wait became urgent."""
        state = self.lane_state(lane)
        target = self.targets.get(key)
        if target is None:
            done = self.done.get(key)
            if done is not None:
                if done.failed:  # e.g. its message was deleted: nothing to show it in
                    self.stats.dropped += 1
                    return False
                if done.landed is not None and update.version <= done.landed:
                    self.stats.stale += 1
                    return False
                del self.done[key]
            target = Target(key, state)
            state.live += 1
            self.global_live += state.clock.lane.uses_global
            self.targets[key] = target
        else:
            newest = target.newest_version()
            if newest is not None and update.version <= newest:
                self.stats.stale += 1
                return False
        old = target.pending
        if old is None:
            target.pending = update
            self.enqueue(target)
            return True
        self.stats.coalesced += 1
        target.pending = old.merged_into(update)
        # The final state replacing a streaming edit may go at once, before the pace would let
        # the streaming edit go: the scheduler may be asleep until then and must look again.
        return target.pending.urgent and not old.urgent

    def mark_first_words(self, key: Hashable) -> bool:
        """The update waiting for `key` now shows an answer's first words. Returns True when
        that raised its rank (the scheduler must look again)."""
        target = self.targets.get(key)
        pending = target.pending if target is not None else None
        if target is None or pending is None or pending.first_visible:
            return False
        target.pending = replace(pending, first_visible=True)
        return True

    def lane_state(self, lane: Lane) -> LaneState:
        state = self.lanes.get(lane.key)
        if state is None:
            state = self.lanes[lane.key] = LaneState(LaneClock(lane))
        else:
            state.clock.update(lane)
        return state

    def enqueue(self, target: Target) -> None:
        state = target.lane
        state.waiting[target.key] = target
        self.ready[state.key] = state

    def unqueue(self, target: Target) -> None:
        state = target.lane
        state.waiting.pop(target.key, None)
        if not state.waiting:
            self.ready.pop(state.key, None)

    def requeue(self, target: Target, update: Update, *, closing: bool) -> bool:
        """Put a failed update back, unless a newer one is waiting (it wins, and inherits the
        older one's urgency and age). Returns True when the target waits again."""
        self.stats.retried += 1
        pending = target.pending
        if pending is not None:
            target.pending = update.merged_into(pending)
            return True
        if closing and not update.final:
            self.stats.dropped += 1
            return False
        target.pending = update
        self.enqueue(target)
        return True

    def drop_pending(self, target: Target) -> None:
        if target.pending is not None:
            self.stats.dropped += 1
            target.pending = None
            self.unqueue(target)

    def retire(self, target: Target, *, failed: bool, error: Exception | None = None) -> None:
        self.targets.pop(target.key, None)
        target.lane.live -= 1
        self.global_live -= target.lane.clock.lane.uses_global
        self.done[target.key] = FinishedTarget(target.landed, failed, error)
        self.done.move_to_end(target.key)
        while len(self.done) > DONE_MEMORY:
            self.done.popitem(last=False)
        target.resolve_waiters(everyone=True, failed=failed)

    def finals_open(self) -> bool:
        return any(t.final_open() for t in self.targets.values())

    def sweep(self, now: float) -> None:
        """Forget lanes whose history can no longer matter."""
        for key, state in list(self.lanes.items()):
            if state.live == 0 and not state.waiting and state.clock.quiet_since(now):
                del self.lanes[key]
