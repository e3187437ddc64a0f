"""What a streaming answer looks like: the Stop button while working, tool lines."""

from __future__ import annotations

import re

from tests.e2e.conftest import Running, button_ids, button_with
from tests.fakes.llm_scripts import text_reply, tool_call_reply

STOP = "switchboard:stop:"


def rendered(content: str) -> str:
    """Content as Discord displays it: markdown escapes removed."""
    return re.sub(r"\\([\\*_`~|>#-])", r"\1", content)


async def test_stop_button_shows_while_streaming_and_is_gone_at_the_end(app: Running) -> None:
    app.llm.enqueue(text_reply("A steady stream of words. " * 6, chunk_size=5, delay=0.01))
    await app.fake.invoke_slash_command("chat", {"prompt": "stream please"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    answer = await app.final_answer(thread.id)

    streaming = [r for r in answer.revisions if "A steady" in r.content and "-# " not in r.content]
    assert streaming, "no intermediate revision showed text"
    assert all(r.components for r in streaming)
    stop_ids = {
        c["custom_id"] for r in streaming for row in r.components for c in row["components"]
    }
    assert len(stop_ids) == 1 and next(iter(stop_ids)).startswith(STOP)
    # Finished: Stop gives way to Regenerate (the latest answer can be asked again).
    stop_id = next(iter(stop_ids))
    assert button_ids(answer) == [stop_id.replace(STOP, "switchboard:regenerate:")]
    assert button_with(answer, STOP) is None


async def test_tool_call_shows_a_tool_line_in_the_final_message(app: Running) -> None:
    app.llm.enqueue(
        tool_call_reply([("calculator", {"expression": "2*21"})]),
        text_reply("The answer is 42."),
    )
    await app.fake.invoke_slash_command("chat", {"prompt": "what is 2*21?"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    answer = await app.final_answer(thread.id)
    assert "🔧 calculator" in answer.content
    assert "2*21" in rendered(answer.content)  # sent as 2\*21 so it is not italics
    assert "42" in answer.content
    second = app.llm.chat_requests[1].json["messages"]
    assert [m["role"] for m in second[-3:]] == ["user", "assistant", "tool"]
    assert second[-1]["content"].strip().startswith("42")


async def test_reasoning_collapses_to_one_line_when_done(app: Running) -> None:
    app.llm.enqueue(
        text_reply("Here it is.", reasoning="Let me weigh the options carefully. " * 4, delay=0.01)
    )
    await app.fake.invoke_slash_command("chat", {"prompt": "think first"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))
    answer = await app.final_answer(thread.id)
    assert "💭 Thought for" in answer.content
    assert "weigh the options" not in answer.content
    assert any("💭 Thinking" in r.content for r in answer.revisions)
