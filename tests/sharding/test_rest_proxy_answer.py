"""The real bot behind a shared REST proxy that answers 429 itself, without `Via`: a long
`/chat` answer still completes, every word once and in order, in one thread, while the
proxy refuses its message creates and edits (and the interaction's own calls)."""

from __future__ import annotations

from tests.e2e.conftest import Running, stopping
from tests.fakes.discord_server import FakeMessage
from tests.fakes.llm_scripts import text_reply

LONG = " ".join(f"word{n}" for n in range(700))  # about 5,500 characters: several messages


async def test_proxy_429s_without_via_mid_answer_lose_nothing(app: Running) -> None:
    fake = app.fake
    # Every second request of the answer's interaction and thread gets the proxy's 429.
    fake.inject_429(times=3, retry_after=0.2, via=False, match="/callback")
    app.llm.enqueue(text_reply(LONG, chunk_size=40, delay=0.01))
    await fake.invoke_slash_command("chat", {"prompt": "count"})
    thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
    fake.inject_429(times=6, retry_after=0.2, via=False, match="POST /channels/{channel_id}/mes")
    fake.inject_429(times=6, retry_after=0.2, via=False, match="PATCH /channels/{channel_id}/mes")

    def finished() -> list[FakeMessage] | None:
        mine = [m for m in app.bot_messages(thread.id) if not m.deleted]
        done = mine and "-# " in mine[-1].content and not any(stopping(m) for m in mine)
        return mine if done else None

    messages = await fake.wait_for(finished, timeout=30)
    shown = " ".join(m.content for m in messages)
    words = [w for w in shown.split() if w.startswith("word")]
    assert words == LONG.split()  # every word once, in order: nothing lost, nothing twice
    assert len(messages) >= 3
    assert len(fake.threads(app.channel_id)) == 1
    assert fake.total_429s == 15  # all of them met, none raised
    refused = [c for c in fake.calls if c.status == 429]
    assert {c.method for c in refused} == {"POST", "PATCH"}
