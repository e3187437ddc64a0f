"""History: loading a long conversation from SQLite and rebuilding the model's messages.

A real database file (in a temporary folder) gets one conversation of N messages written
through the repositories: two members taking turns, answers with reasoning, text, tool rounds
with sizeable results, and now and then a stopped or failed answer. Then, separately:
(a) `MessageRepository.history` (three queries, rows → dataclasses),
(b) `build_model_messages` with the default context budget (32,000 tokens),
(c) `build_model_messages` with a budget large enough that every message is sent,
(d) the chat-completions request body of (b), serialized as it goes on the wire.
Tool rounds carry provider artefacts as a thinking model leaves them (the round's reasoning
as `reasoning_content`, a thought signature on the first call), so the figures include
reading and replaying them.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from bench.results import Result, Target, median, time_async, time_sync
from bot.llm.protocols.base import DEFAULT_OPTIONS
from bot.llm.protocols.chat_completions import ChatCompletionsProtocol
from bot.llm.types import ChatRequest
from bot.services.history import ModelHistory, build_model_messages
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository, NewStep
from bot.storage.models import RoundArtefacts, StoredMessage
from bot.vocabulary import AnswerStatus

GROUP = "engine"
DEFAULT_BUDGET = 32_000  # Settings.llm_context_tokens' default
UNLIMITED_BUDGET = 1_000_000_000
SYSTEM_PROMPT = "You are Switchboard, a helpful assistant in a Discord server. Be concise."

_WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "members",
    "discuss",
    "python",
    "asyncio",
    "sqlite",
    "discord",
    "rate",
    "limits",
    "streaming",
    "tokens",
    "budgets",
    "and",
    "the",
    "weather",
    "in",
    "Zürich",
    "東京",
    "ünïcödé",
)


def _sentence(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n_words)).capitalize() + "."


def _paragraphs(rng: random.Random, n_chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < n_chars:
        part = _sentence(rng, rng.randint(6, 18))
        parts.append(part)
        size += len(part) + 1
    return " ".join(parts)


SIGNATURE = json.dumps({"extra_content": {"google": {"thought_signature": "Q" * 300}}})


def answer_steps(
    rng: random.Random, number: int
) -> tuple[list[NewStep], str, AnswerStatus, list[RoundArtefacts]]:
    """Steps, final text, status and provider artefacts of one realistic answer."""
    steps: list[NewStep] = []
    artefacts: list[RoundArtefacts] = []
    rounds = 0
    roll = rng.random()
    if roll < 0.30:
        rounds = rng.randint(1, 3)  # ~30% of answers use tools, a few rounds
    for round_no in range(rounds + 1):
        thought = ""
        if rng.random() < 0.4:
            thought = _paragraphs(rng, rng.randint(200, 1200))
            steps.append(NewStep(round_no, "reasoning", thought))
        if round_no < rounds:
            data = json.dumps({"reasoning_content": thought}, ensure_ascii=False)
            artefacts.append(RoundArtefacts(round_no, "fake-model", data))
            if rng.random() < 0.3:
                steps.append(NewStep(round_no, "text", _sentence(rng, 10)))
            for call in range(rng.choice((1, 1, 2))):
                call_id = f"call_{number}_{round_no}_{call}"
                name = rng.choice(("web_search", "fetch_url", "calculator", "search_history"))
                arguments = json.dumps({"query": _sentence(rng, 5), "limit": 5})
                extra = SIGNATURE if call == 0 else None
                steps.append(
                    NewStep(round_no, "tool_call", "", call_id, name, arguments, tool_extra=extra)
                )
                output = _paragraphs(rng, rng.choice((80, 600, 2500, 6000)))
                steps.append(
                    NewStep(
                        round_no, "tool_result", output, call_id, tool_status="ok", duration_ms=9
                    )
                )
    final = _paragraphs(rng, rng.randint(150, 1500))
    steps.append(NewStep(rounds, "text", final))
    status: AnswerStatus = "complete"
    if roll > 0.97:
        status = "stopped"
    elif roll > 0.96:
        status = "error"
    return steps, final, status, artefacts


async def build_database(path: Path, n_messages: int, seed: int = 42) -> int:
    """Write the conversation; returns its id."""
    rng = random.Random(seed)
    members = ((1001, "Alice"), (1002, "Bob"))
    async with Database.open(path) as db:
        conversations = ConversationRepository(db)
        messages = MessageRepository(db)
        async with db.transaction() as conn:
            conversation = await conversations.create(
                "thread", 1, 2001, 2000, "bench", "fake-model", 1001, conn=conn
            )
            member_message = None
            for i in range(n_messages):
                if i % 2 == 0:
                    author_id, name = members[(i // 2) % 3 % 2]
                    content = _paragraphs(rng, rng.randint(20, 400))
                    member_message = await messages.add_user_message(
                        conversation.id, content, author_id, name, 10_000 + i, conn=conn
                    )
                    continue
                reply_to = member_message.id if member_message is not None else None
                answer = await messages.start_answer(
                    conversation.id, "fake-model", reply_to, conn=conn
                )
                steps, final, status, artefacts = answer_steps(rng, i)
                await messages.append_steps(answer.id, steps, conn=conn)
                for saved in artefacts:
                    await messages.append_steps(answer.id, [], artefacts=saved, conn=conn)
                error = "The model provider failed." if status == "error" else None
                await messages.finish_answer(answer.id, status, final, error, conn=conn)
    return conversation.id


def rebuild(history: list[StoredMessage], budget: int) -> ModelHistory:
    return build_model_messages(history, system_prompt=SYSTEM_PROMPT, token_budget=budget)


async def run(quick: bool) -> list[Result]:
    n_messages = 200 if quick else 10_000
    repetitions = 2 if quick else 7
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as folder:
        path = Path(folder) / "bench.db"
        conversation_id = await build_database(path, n_messages)
        size_mb = path.stat().st_size / 1e6
        load_s: list[float] = []
        history: list[StoredMessage] = []
        async with Database.open(path) as db:
            repository = MessageRepository(db)

            async def load() -> None:
                history[:] = await repository.history(conversation_id)

            await load()  # warm the page cache: we measure our code, not the disk
            load_s = [await time_async(load) for _ in range(repetitions)]
    if len(history) != n_messages:
        raise RuntimeError(f"loaded {len(history)} messages, wrote {n_messages}")
    n_steps = sum(len(m.steps) for m in history)
    trimmed = rebuild(history, DEFAULT_BUDGET)
    everything = rebuild(history, UNLIMITED_BUDGET)
    trim_s = [time_sync(lambda: rebuild(history, DEFAULT_BUDGET)) for _ in range(repetitions)]
    full_s = [time_sync(lambda: rebuild(history, UNLIMITED_BUDGET)) for _ in range(repetitions)]
    protocol = ChatCompletionsProtocol()
    request = ChatRequest("fake-model", trimmed.messages, max_tokens=4096)

    def body() -> bytes:
        wire = protocol.body(request, DEFAULT_OPTIONS)
        return json.dumps(wire, ensure_ascii=False).encode()

    body_s = [time_sync(body) for _ in range(repetitions)]
    with_artefacts = sum(1 for m in trimmed.messages if m.artefacts is not None)
    ms = 1000.0
    return [
        Result(
            GROUP,
            f"history load, {n_messages:,} messages",
            median(load_s) * ms,
            "ms",
            note=f"{n_steps:,} steps, database {size_mb:.1f} MB, median of {repetitions}",
        ),
        Result(
            GROUP,
            "rebuild model messages, 32k budget (with artefacts)",
            median(trim_s) * ms,
            "ms",
            Target(50.0),
            note=(
                f"sends {len(trimmed.messages):,} messages (~{trimmed.estimated_tokens:,} "
                f"tokens), {trimmed.omitted_turns:,} turns left out"
            ),
        ),
        Result(
            GROUP,
            "request body of the 32k history, serialized",
            median(body_s) * ms,
            "ms",
            note=f"{with_artefacts} assistant messages carry provider artefacts",
        ),
        Result(
            GROUP,
            "rebuild model messages, everything fits",
            median(full_s) * ms,
            "ms",
            note=(
                f"sends {len(everything.messages):,} messages "
                f"(~{everything.estimated_tokens:,} tokens)"
            ),
        ),
    ]
