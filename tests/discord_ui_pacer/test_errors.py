"""429s are honoured, server errors retried, permanent errors give the target up once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.discord_ui.pacer import EditPacer
from bot.discord_ui.send_errors import RetryPolicy
from tests.discord_ui_pacer.sim import HTTPError, RateLimitedError, SimDiscord, lane


async def test_pacer_waits_retry_after_then_sends_the_latest_state(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    chan = lane("chan")
    sim.failures["msg"] = [RateLimitedError(0.3)]
    attempts: list[float] = []
    loop = asyncio.get_running_loop()

    def send(version: int) -> object:
        async def go() -> None:
            attempts.append(loop.time())
            await sim.deliver("msg", chan, version)

        return go

    pacer.submit("msg", chan, 1, send(1))
    await asyncio.sleep(0.05)
    pacer.submit("msg", chan, 2, send(2))  # arrives while the lane waits out the 429
    assert await pacer.wait_landed("msg", 2)
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 0.3
    assert [s.payload for s in sim.sent] == [2]
    assert pacer.stats.rate_limited == 1


async def test_pacer_global_429_pauses_every_global_lane(pacer: EditPacer, sim: SimDiscord) -> None:
    a, b = lane("a"), lane("b")
    sim.failures["x"] = [RateLimitedError(0.3, is_global=True)]
    loop = asyncio.get_running_loop()
    pacer.submit("x", a, 1, sim.sender("x", a, 1))
    await asyncio.sleep(0.05)
    submitted_at = loop.time()
    pacer.submit("y", b, 1, sim.sender("y", b, 1))
    assert await pacer.wait_landed("y", 1)
    assert loop.time() - submitted_at >= 0.2  # waited for the global pause, not its lane
    assert await pacer.wait_landed("x", 1)


async def test_pacer_gives_up_on_a_deleted_message_and_warns_once(
    pacer: EditPacer, sim: SimDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    chan = lane("channel:42")
    sim.failures["gone"] = [HTTPError(404, "Unknown Message")]
    with caplog.at_level(logging.WARNING, logger="bot.discord_ui.pacer"):
        pacer.submit("gone", chan, 1, sim.sender("gone", chan, 1))
        assert not await pacer.wait_landed("gone", 1)
        for version in range(2, 6):
            pacer.submit("gone", chan, version, sim.sender("gone", chan, version), final=True)
        assert not await pacer.wait_landed("gone", 5)
        # Other messages in the lane are unaffected.
        pacer.submit("alive", chan, 1, sim.sender("alive", chan, 1), final=True)
        assert await pacer.wait_landed("alive", 1)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "channel:42" in warnings[0].getMessage()
    assert "404" in warnings[0].getMessage()
    assert pacer.stats.failed == 1
    assert [s.target for s in sim.sent] == ["alive"]


async def test_pacer_retries_a_final_through_server_errors(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    chan = lane("chan")
    sim.failures["msg"] = [HTTPError(503), HTTPError(502), ConnectionResetError(), TimeoutError()]
    pacer.submit("msg", chan, 1, sim.sender("msg", chan, "done"), final=True)
    assert await pacer.wait_landed("msg", 1)
    assert sim.shown["msg"] == "done"
    assert pacer.stats.retried == 4


async def test_pacer_drops_an_update_after_repeated_errors_but_keeps_the_target(
    pacer: EditPacer, sim: SimDiscord
) -> None:
    chan = lane("chan")
    sim.failures["msg"] = [HTTPError(500)] * 3  # the default 3 attempts for a non-final update
    pacer.submit("msg", chan, 1, sim.sender("msg", chan, 1))
    await asyncio.sleep(0.3)
    assert pacer.stats.dropped == 1
    assert "msg" not in sim.shown
    pacer.submit("msg", chan, 2, sim.sender("msg", chan, 2), final=True)
    assert await pacer.wait_landed("msg", 2)
    assert sim.shown["msg"] == 2


async def test_pacer_gives_up_on_a_bug_in_send_with_its_traceback(
    pacer: EditPacer, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise TypeError("bad payload")

    with caplog.at_level(logging.WARNING, logger="bot.discord_ui.pacer"):
        pacer.submit("msg", lane("chan"), 1, broken, final=True)
        assert not await pacer.wait_landed("msg", 1)
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.exc_info is not None


async def test_pacer_call_returns_the_result_and_raises_permanent_errors(
    pacer: EditPacer,
) -> None:
    chan = lane("chan")

    async def create() -> str:
        return "message-id"

    async def forbidden() -> str:
        raise HTTPError(403, "Missing Access")

    assert await pacer.call(chan, create) == "message-id"
    with pytest.raises(HTTPError) as raised:
        await pacer.call(chan, forbidden)
    assert raised.value.status == 403


async def test_pacer_cuts_a_stuck_send_and_retries_it(sim: SimDiscord) -> None:
    chan = lane("chan")
    calls: list[int] = []

    async def send() -> None:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.Event().wait()  # a call that never returns
        await sim.deliver("msg", chan, "done")

    retry = RetryPolicy(base_s=0.01)
    async with EditPacer(send_timeout_s=0.1, retry=retry) as pacer:
        pacer.submit("msg", chan, 1, send, final=True)
        assert await pacer.wait_landed("msg", 1)
    assert len(calls) == 2
    assert sim.shown["msg"] == "done"
