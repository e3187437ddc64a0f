"""A long answer continues over several messages, each valid on its own."""

from __future__ import annotations

import re

from tests.e2e.conftest import Running, stopping
from tests.fakes.discord_server import FakeMessage
from tests.fakes.llm_scripts import text_reply

FENCE = re.compile(r"^```(\w*)$", re.MULTILINE)


def long_answer() -> str:
    prose = "\n\n".join(
        f"Paragraph {i}: " + " ".join(f"word{j}" for j in range(40)) for i in range(8)
    )
    code = "\n".join(f"    total = total + compute_value({i}, factor={i * 3})" for i in range(40))
    tail = "\n\n".join(f"After the code, point {i} is made here." for i in range(6))
    return f"{prose}\n\n```python\ndef f():\n    total = 0\n{code}\n    return total\n```\n\n{tail}"


def body_of(message: FakeMessage, *, last: bool) -> str:
    """The model's text in one part: without the footer line on the last."""
    lines = message.content.split("\n")
    if last:
        assert lines[-1].startswith("-# ")
        lines = lines[:-1]
    return "\n".join(lines).strip("\n")


def unfence(parts: list[str]) -> str:
    """Join parts, dropping the fence closed at the end of one part and reopened next."""
    joined = parts[0]
    for part in parts[1:]:
        if joined.rstrip().endswith("```") and FENCE.match(part.split("\n", 1)[0]):
            closing = joined.rstrip()[:-3].rstrip("\n")
            reopened = part.split("\n", 1)[1]
            # the cut was at a line break inside the code block
            joined = closing + "\n" + reopened
        else:
            joined = joined + "\n\n" + part
    return joined


async def test_long_answer_with_code_block_spans_valid_messages(app: Running) -> None:
    text = long_answer()
    assert 4500 < len(text) < 6000
    app.llm.enqueue(text_reply(text, chunk_size=200, delay=0.005))
    await app.fake.invoke_slash_command("chat", {"prompt": "write a lot"})
    thread = await app.fake.wait_for(lambda: next(iter(app.fake.threads(app.channel_id)), None))

    def all_final() -> list[FakeMessage] | None:
        mine = [m for m in app.bot_messages(thread.id) if not m.deleted]
        if len(mine) >= 3 and "-# " in mine[-1].content and not any(stopping(m) for m in mine):
            return mine
        return None

    parts = await app.fake.wait_for(all_final, timeout=10)
    for message in parts:
        assert len(message.content) <= 2000
        fences = FENCE.findall(message.content)
        assert len(fences) % 2 == 0, message.content
        for revision in message.revisions:
            assert len(revision.content) <= 2000
    reopened = [FENCE.findall(m.content) for m in parts if m.content.startswith("```")]
    assert reopened and all(fences[0] == "python" for fences in reopened)
    assert all("fake-model" not in m.content for m in parts[:-1])
    assert "fake-model" in parts[-1].content
    bodies = [body_of(m, last=i == len(parts) - 1) for i, m in enumerate(parts)]
    assert normalize(unfence(bodies)) == normalize(text)
    assert app.fake.total_429s == 0


def normalize(text: str) -> str:
    return re.sub(r"\n{2,}", "\n\n", text.strip())
