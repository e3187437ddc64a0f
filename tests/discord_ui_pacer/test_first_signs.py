"""First signs before screens already showing something, and sends paced by the bucket: an
urgent update goes at once while the bucket has a request for it, even when it replaces a
streaming edit that was waiting for the pace."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.discord_ui.lanes import Lane
from bot.discord_ui.pacer import EditPacer
from tests.discord_ui_pacer.sim import SimDiscord

# A pace of 5 s between streaming edits: "at once" and "after the pace" are far apart, so the
# tests below tell them apart with generous bounds, not tight timings.
SLOW = Lane("channel:slow", limit=5, window_s=20.0)
BOUND_S = 2.0


async def test_pacer_final_replacing_a_waiting_edit_goes_without_waiting_for_the_pace(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    pacer.submit("msg", SLOW, 1, sim.sender("msg", SLOW, 1), first_visible=True)
    assert await pacer.wait_landed("msg", 1)
    pacer.submit("msg", SLOW, 2, sim.sender("msg", SLOW, 2))  # waits for the pace (5 s)
    await asyncio.sleep(0.05)  # the scheduler sleeps until the pace allows version 2
    pacer.submit("msg", SLOW, 3, sim.sender("msg", SLOW, "final"), final=True)
    async with asyncio.timeout(BOUND_S):
        assert await pacer.wait_landed("msg", 3)
    assert [s.payload for s in sim.sent] == [1, "final"]


async def test_pacer_final_takes_the_request_streaming_leaves_free(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    # Four sends started in this window: streaming would now wait for the window (20 s).
    for target in ("a", "b", "c", "d"):
        pacer.submit(target, SLOW, 1, sim.sender(target, SLOW, 1), first_visible=True)
        assert await pacer.wait_landed(target, 1)
    pacer.submit("a", SLOW, 2, sim.sender("a", SLOW, 2))
    pacer.submit("e", SLOW, 1, sim.sender("e", SLOW, "final"), final=True)
    async with asyncio.timeout(BOUND_S):
        assert await pacer.wait_landed("e", 1)
    assert sim.shown.get("a") == 1  # the streaming edit still waits
    assert not sim.violations  # five in the window: the bucket's limit, not more


async def test_pacer_gives_started_answers_their_first_words_before_opening_more_threads() -> None:
    """A burst of /chat: each answer needs its thread, then its first message (which shows
    the words the model wrote meanwhile). Answers whose thread exists get their first words
    before more threads are opened, so text reaches the screen in the order answers started."""
    answers = 12
    order: list[str] = []
    threads = Lane.threads(1)

    async def answer(n: int) -> None:
        async def open_thread() -> None:
            order.append(f"thread{n}")

        async def first_message() -> None:
            order.append(f"message{n}")

        await pacer.call(threads, open_thread)
        await pacer.call(Lane.channel_creates(100 + n), first_message, first_words=True)

    # 40 sends/s with a bucket of one: the pick order is observable.
    async with EditPacer(global_per_second=40.0, global_burst=1) as pacer:
        await asyncio.gather(*(answer(n) for n in range(answers)))
    assert len(order) == 2 * answers
    # Without the ranking every thread would be opened before the first message.
    last_thread = order.index(f"thread{answers - 1}")
    assert order.index("message0") < last_thread
    assert sum(1 for name in order[:last_thread] if name.startswith("message")) >= answers // 2


async def test_pacer_placeholder_moves_up_once_its_answer_has_words() -> None:
    order: list[str] = []

    def recorder(name: str) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            order.append(name)

        return send

    async with EditPacer(global_per_second=40.0, global_burst=1) as pacer:
        threads = [pacer.call(Lane.threads(1), recorder(f"thread{n}")) for n in range(20)]
        opening = asyncio.gather(*threads)
        await asyncio.sleep(0)  # the thread creations are queued first
        key = ("first message", 7)
        placeholder = asyncio.ensure_future(
            pacer.call(Lane.channel_creates(7), recorder("placeholder"), key=key)
        )
        await asyncio.sleep(0.1)  # a few threads go; the placeholder waits its turn
        assert "placeholder" not in order
        pacer.mark_first_words(key)  # the model's first words arrived
        await placeholder
        assert "thread19" not in order  # it went ahead of the threads still waiting
        await opening


async def test_pacer_runs_several_thread_creations_at_once() -> None:
    running = 0
    most = 0

    async def open_thread() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.02)  # a round trip to Discord
        running -= 1

    # A global budget that lets all of them go: only the lane limits how many run at once.
    async with EditPacer(global_per_second=1000.0, global_burst=20) as pacer:
        await asyncio.gather(*(pacer.call(Lane.threads(1), open_thread) for _ in range(12)))
    assert most == Lane.threads(1).max_in_flight > 1
