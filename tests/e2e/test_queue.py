"""Messages that arrive while the model answers are queued, answered in order."""

from __future__ import annotations

import itertools

from tests.e2e.conftest import Running, button_ids, stopping
from tests.fakes.discord_server import FakeMessage
from tests.fakes.llm_scripts import text_reply


async def test_three_quick_messages_get_three_answers_in_order(app: Running) -> None:
    app.llm.enqueue(text_reply("Opening answer."))
    await app.fake.invoke_slash_command("chat", {"prompt": "start"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    await app.final_answer(thread.id)

    slow = "is streamed slowly. " * 3
    app.llm.enqueue(
        *(text_reply(f"Answer {n} {slow}", chunk_size=6, delay=0.01) for n in (1, 2, 3))
    )
    for n in (1, 2, 3):
        await app.fake.send_user_message(thread.id, content=f"question {n}")

    def three_done() -> list[FakeMessage] | None:
        mine = [m for m in app.bot_messages(thread.id) if not m.deleted]
        done = [m for m in mine if "-# " in m.content and not stopping(m)]
        return mine if len(mine) == 4 and len(done) == 4 else None

    answers = (await app.fake.wait_for(three_done, timeout=10))[1:]
    for n, answer in enumerate(answers, start=1):
        assert f"Answer {n} is streamed slowly." in answer.content
    # Never interleaved: each answer appears only after the previous one showed its end.
    # (Its end is the first revision with the footer; a later edit only takes its
    # Regenerate button away once a newer answer exists.)
    for earlier, later in itertools.pairwise(answers):
        ended = next(r.at for r in earlier.revisions if "-# " in r.content)
        assert ended <= later.revisions[0].at
        # Only the latest answer offers Regenerate.
        await app.fake.wait_for(lambda earlier=earlier: not button_ids(earlier) or None)
    [offered] = button_ids(answers[-1])
    assert offered.startswith("switchboard:regenerate:")
    assert app.fake.total_429s == 0

    requests = [r.json["messages"] for r in app.llm.chat_requests[1:]]
    assert len(requests) == 3
    for n, sent in enumerate(requests, start=1):
        assert sent[-1]["role"] == "user" and sent[-1]["content"] == f"question {n}"
        assistant = [m["content"] for m in sent if m["role"] == "assistant"]
        assert len(assistant) == n  # the opening answer and every earlier queued answer
