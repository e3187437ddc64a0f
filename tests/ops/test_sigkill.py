"""SIGKILL mid-answer: every word members saw is in the database when the bot comes back.

The real bot process (`python -m bot`) runs against the fake Discord and the fake LLM, whose
scripted answer streams slowly: a tool round (reasoning, text, a calculator call), then a text
round (reasoning, text). It is killed with SIGKILL at seeded random points of either round,
then started again on the same database. The stored answer (its steps and its content) must
hold every word the fake Discord showed for it more than `LAG_S` before the kill, each stored
once and in order; and the member's next message must bring those words to the model, marked
interrupted, with no two user messages in a row.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.bot_env import bot_env
from tests.fakes.bot_subprocess import BotSubprocess, start_bot_subprocess
from tests.fakes.discord_server import FakeChannel, FakeDiscord
from tests.fakes.llm_scripts import Scripted, chunk, sse, text_reply
from tests.fakes.llm_server import FakeLLMServer

SEED = 20_260_917
RUNS = 2  # runs of the bot, each killed with three answers streaming (then one more start)
LAG_S = 2.0  # the promise: at most ~2 s of what members saw may be missing
DELAY_S = 0.05  # between two SSE writes of the fake model
TOKEN = re.compile(r"\b[rt][12]\d{3}\b")
INTERRUPTED = "[the answer was interrupted]"


def words(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


def tool_round() -> Scripted:
    """~4.4 s: 15 words of reasoning, 70 of text, then a calculator call."""
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"reasoning_content": f"{w} "}) for w in words("r1", 15)]
    chunks += [chunk({"content": f"{w} "}) for w in words("t1", 70)]
    call = {"name": "calculator", "arguments": '{"expression": "6*7"}'}
    chunks.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": call}]}))
    chunks.append(chunk(finish_reason="tool_calls"))
    return Scripted(writes=[*map(sse, chunks), sse("[DONE]")], delay=DELAY_S)


def text_round() -> Scripted:
    """~3.3 s: 5 words of reasoning, then 60 of text."""
    return text_reply(
        " ".join(words("t2", 60)),
        reasoning=" ".join(words("r2", 5)) + " ",
        chunk_size=6,  # one word per write
        delay=DELAY_S,
    )


async def start_bot(fake: FakeDiscord, llm: FakeLLMServer, database: Path) -> BotSubprocess:
    return await start_bot_subprocess(bot_env(fake, llm, database), database.parent, timeout_s=20)


@asynccontextmanager
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeLLMServer]]:
    async with FakeDiscord() as fake, FakeLLMServer() as llm:
        yield fake, llm


class Model:
    """The fake model's part: per request, whatever answers run concurrently, a tool round,
    then a text round; a quick reply to "go on". Each request wakes `wait_for`."""

    def __init__(self, llm: FakeLLMServer) -> None:
        self.llm = llm
        self.arrived = asyncio.Event()
        llm.responder = self.respond

    def respond(self, body: dict[str, Any]) -> Scripted:
        self.arrived.set()
        last = body["messages"][-1]
        if last["role"] == "tool":
            return text_round()
        if last["content"].endswith("go on"):
            return text_reply("Going on.")
        return tool_round()

    def requests_of(self, prompt: str) -> list[list[dict[str, Any]]]:
        """The messages of every request made for the conversation started with `prompt`."""
        found = []
        for request in self.llm.chat_requests:
            messages = request.json["messages"]
            if any(m["role"] == "user" and m["content"] == prompt for m in messages):
                found.append(messages)
        return found

    async def follow_up(self, prompt: str) -> list[dict[str, Any]]:
        """The request that answers "go on" in `prompt`'s conversation, once it arrived."""

        def found() -> list[dict[str, Any]] | None:
            asked = [m for m in self.requests_of(prompt) if m[-1]["content"].endswith("go on")]
            return asked[0] if asked else None

        async with asyncio.timeout(10):
            while (sent := found()) is None:
                self.arrived.clear()
                await self.arrived.wait()
        return sent


def seen_before(fake: FakeDiscord, thread: FakeChannel, deadline: float) -> list[str]:
    """The words any of the bot's messages in the thread showed at or before `deadline`."""
    found: set[str] = set()
    for message in fake.messages(thread.id):
        if message.author.id != fake.bot_user.id:
            continue
        for revision in message.revisions:
            if revision.at <= deadline:
                found.update(TOKEN.findall(revision.content))
    return sorted(found)


@dataclass
class Stored:
    status: str
    content: str
    steps: list[tuple[int, str, str]]  # (round, kind, content) in seq order


def stored_answer(database: Path, thread_id: int) -> Stored:
    with sqlite3.connect(database) as conn:
        answer_id, status, content = conn.execute(
            "SELECT m.id, m.status, m.content FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id"
            " WHERE c.channel_id = ? AND m.role = 'assistant' ORDER BY m.id LIMIT 1",
            (thread_id,),
        ).fetchone()
        steps = conn.execute(
            "SELECT round, kind, content FROM steps WHERE message_id = ? ORDER BY seq",
            (answer_id,),
        ).fetchall()
    conn.close()
    return Stored(status, content, [tuple(s) for s in steps])


def check_stored(stored: Stored, seen: list[str]) -> None:
    assert stored.status == "interrupted"
    # Each round's reasoning and text stored once: drafts were replaced, never added to.
    drafts = Counter((r, k) for r, k, _ in stored.steps if k in ("reasoning", "text"))
    assert all(n == 1 for n in drafts.values()), stored.steps
    # What is stored is what was streamed, in order: a prefix of each round's words.
    by_prefix: dict[str, list[str]] = {}
    for _, _, content in stored.steps:
        for word in TOKEN.findall(content):
            by_prefix.setdefault(word[:2], []).append(word)
    for prefix, found in by_prefix.items():
        assert found == words(prefix, len(found)), (prefix, found)
    kept = {w for found in by_prefix.values() for w in found}
    assert [w for w in seen if w not in kept] == [], stored.steps
    shown_text = [w for w in seen if w.startswith("t")]
    assert [w for w in shown_text if w not in stored.content] == [], stored.content


@dataclass
class KillPoint:
    prompt: str
    where: str  # the round the kill is aimed at: "tool" or "text"
    age: float  # seconds from the member's /chat to the kill


def plan(rng: random.Random, first: int) -> list[KillPoint]:
    """The answers of one run of the bot: aimed at its tool round, its text round, either."""
    points = []
    for n, where in enumerate(("tool", "text", rng.choice(("tool", "text"))), start=first):
        # The tool round streams from ~0.3 s to ~4.7 s after /chat, the text round from
        # ~4.8 s to ~8.1 s; a kill over ~3 s in leaves words shown more than LAG_S before it.
        age = rng.uniform(3.3, 4.3) if where == "tool" else rng.uniform(6.0, 7.6)
        points.append(KillPoint(f"kill point {n}", where, age))
    return sorted(points, key=lambda p: -p.age)


async def run_and_kill(
    fake: FakeDiscord, model: Model, bot: BotSubprocess, points: list[KillPoint]
) -> tuple[float, dict[str, int]]:
    """Start each answer so that the kill lands `age` after its /chat; returns the kill time
    and, per answer, how many rounds had started (1: its tool round, 2: its text round)."""
    started = time.monotonic()
    kill_at = started + points[0].age
    for point in points:
        await asyncio.sleep(max(0.0, kill_at - point.age - time.monotonic()))
        await fake.invoke_slash_command("chat", {"prompt": point.prompt})
    await asyncio.sleep(max(0.0, kill_at - time.monotonic()))
    rounds = {p.prompt: len(model.requests_of(p.prompt)) for p in points}
    return await bot.kill(), rounds


async def test_sigkill_keeps_every_word_members_saw(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    database = tmp_path / "bot.db"
    landed: Counter[int] = Counter()
    shown = 0
    async with fakes() as (fake, llm):
        assert fake.channel is not None
        channel_id = fake.channel.id
        model = Model(llm)
        bot = await start_bot(fake, llm, database)
        try:
            for run in range(RUNS):
                points = plan(rng, first=run * 3)
                killed_at, rounds = await run_and_kill(fake, model, bot, points)
                landed.update(rounds.values())
                threads = {p.prompt: thread_of(fake, channel_id, p.prompt) for p in points}
                seen = {
                    prompt: seen_before(fake, thread, killed_at - LAG_S)
                    for prompt, thread in threads.items()
                }
                shown += sum(map(len, seen.values()))

                bot = await start_bot(fake, llm, database)  # recovery runs before "connected"
                for prompt, thread in threads.items():
                    check_stored(stored_answer(database, thread.id), seen[prompt])
                    await fake.send_user_message(thread.id, content="go on")
                for prompt in threads:
                    check_next_turn(await model.follow_up(prompt), seen[prompt])
                llm.reset()
        finally:
            with suppress(ProcessLookupError):
                await bot.kill()
    # Kills landed in tool rounds and in text rounds, with plenty shown before them.
    assert landed[1] >= RUNS and landed[2] >= 1, landed
    assert shown >= 20 * RUNS * 3, shown


def thread_of(fake: FakeDiscord, channel_id: int, prompt: str) -> FakeChannel:
    return next(t for t in fake.threads(channel_id) if t.name == prompt)


def check_next_turn(sent: list[dict[str, Any]], seen: list[str]) -> None:
    roles = [m["role"] for m in sent]
    assert ("user", "user") not in itertools.pairwise(roles), roles
    said = [m["content"] for m in sent if m["role"] == "assistant" and m.get("content")]
    if any(w.startswith("t") for w in seen):
        assert said and said[-1].endswith(INTERRUPTED), sent
    replayed = " ".join(said)
    assert [w for w in seen if w.startswith("t") and w not in replayed] == [], sent
