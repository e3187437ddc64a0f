"""The gateway drops while an answer streams: REST keeps working, so the answer completes and
its final message holds every word; after a resume — or a new session when Discord refuses
to resume — the bot still answers."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Running
from tests.fakes.discord_server import FakeMessage
from tests.fakes.llm_scripts import text_reply

IDENTIFY, RESUME = 2, 6  # gateway opcodes
WORDS = " ".join(f"word{n}" for n in range(60))


@pytest.mark.parametrize("fault", ["close", "reconnect", "invalid-session"])
async def test_gateway_drop_mid_answer_loses_nothing(app: Running, fault: str) -> None:
    fake = app.fake
    app.llm.enqueue(text_reply(WORDS, chunk_size=6, delay=0.02))
    await fake.invoke_slash_command("chat", {"prompt": "count for me"})
    thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))

    def streaming() -> FakeMessage | None:
        mine = app.bot_messages(thread.id)
        return mine[0] if mine and "word3" in mine[0].content else None

    await fake.wait_for(streaming)
    identified, resumed = fake.gateway.received(IDENTIFY), fake.gateway.received(RESUME)
    if fault == "close":
        await fake.disconnect_gateway(code=4000)
    elif fault == "reconnect":
        await fake.send_reconnect()
    else:
        await fake.send_invalid_session(resumable=False)

    answer = await app.final_answer(thread.id)
    assert WORDS in answer.content

    # The gateway is back — resumed, or identified anew when Discord refused to resume — and
    # a follow-up in the thread is answered.
    if fault == "invalid-session":
        await fake.wait_for(lambda: fake.gateway.received(IDENTIFY) > identified or None)
    else:
        await fake.wait_for(lambda: fake.gateway.received(RESUME) > resumed or None)
    app.llm.enqueue(text_reply("Still here."))
    await fake.wait_for_ready()
    await fake.send_user_message(thread.id, content="you there?")
    assert "Still here." in (await app.final_answer(thread.id, index=1)).content
