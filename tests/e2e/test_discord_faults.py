"""Discord answers 5xx, or not at all, on edits and message creates for a while mid-answer:
the final messages still hold the whole answer, and nothing is posted twice."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Running, stopping
from tests.fakes.discord_server import FakeMessage
from tests.fakes.llm_scripts import text_reply

LONG = " ".join(f"word{n}" for n in range(700))  # about 5,500 characters: several messages


@pytest.mark.parametrize("fault", ["5xx", "slow"])
async def test_discord_faults_mid_answer_lose_nothing(app: Running, fault: str) -> None:
    fake = app.fake
    app.llm.enqueue(text_reply(LONG, chunk_size=40, delay=0.01))
    await fake.invoke_slash_command("chat", {"prompt": "count"})
    thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

    def started() -> FakeMessage | None:
        mine = app.bot_messages(thread.id)
        return mine[0] if mine and "word5" in mine[0].content else None

    await fake.wait_for(started)
    route = f"/channels/{thread.id}/messages"
    if fault == "5xx":
        fake.fail_requests(route_contains=route, status=503, seconds=1.5)
    else:
        fake.delay_requests(route_contains=route, seconds=1.5, delay=1.0)

    def finished() -> list[FakeMessage] | None:
        mine = [m for m in app.bot_messages(thread.id) if not m.deleted]
        done = mine and "-# " in mine[-1].content and not any(stopping(m) for m in mine)
        return mine if done else None

    messages = await fake.wait_for(finished, timeout=20)
    fake.clear_faults()
    shown = " ".join(m.content for m in messages)
    words = [w for w in shown.split() if w.startswith("word")]
    assert words == LONG.split()  # every word once, in order: nothing lost, nothing twice
    assert len(messages) >= 3  # it did span several messages, created during the fault
