"""search_conversation over a fake backend, and over the real SQLite repository."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.llm.tools import ToolContext, ToolError
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from bot.tools.search_conversation import (
    ConversationSearch,
    SearchHitLike,
    make_search_conversation_tool,
)


@dataclass(frozen=True)
class Hit:
    message_id: int
    role: str
    author_name: str | None
    created_at: datetime
    snippet: str


@dataclass
class FakeSearch:
    hits: list[Hit] = field(default_factory=list)
    calls: list[tuple[int, str, int, int | None]] = field(default_factory=list)

    async def search(
        self, conversation_id: int, query: str, limit: int, before_message_id: int | None = None
    ) -> Sequence[SearchHitLike]:
        self.calls.append((conversation_id, query, limit, before_message_id))
        return self.hits


WHEN = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)


async def test_search_conversation_formats_hits_compactly() -> None:
    backend = FakeSearch(
        [
            Hit(12, "user", "alice", WHEN, "we **deploy** on\nfriday   after lunch"),
            Hit(15, "assistant", None, WHEN, "**Deploy** checklist: " + "x" * 400),
        ]
    )
    tool = make_search_conversation_tool(backend, limit=5)
    ctx = ToolContext(conversation_id=7, message_id=99)
    result = await tool.handler(ctx, query="  deploy\tfriday ")
    lines = result.splitlines()
    assert lines[0] == '2 matches for "deploy friday" in this conversation (best first):'
    assert lines[1] == "[#12 · 2026-03-14 15:09 UTC · alice] we **deploy** on friday after lunch"
    assert lines[2].startswith("[#15 · 2026-03-14 15:09 UTC · assistant (you)] **Deploy**")
    assert len(lines[2]) < 400 and lines[2].endswith("…")
    # Only messages before the one being answered are searched.
    assert backend.calls == [(7, "deploy friday", 5, 99)]


async def test_search_conversation_says_when_nothing_matches() -> None:
    tool = make_search_conversation_tool(FakeSearch())
    result = await tool.handler(ToolContext(conversation_id=7), query="zebra")
    assert result == 'No earlier messages in this conversation match "zebra".'


async def test_search_conversation_needs_a_conversation() -> None:
    backend = FakeSearch()
    tool = make_search_conversation_tool(backend)
    with pytest.raises(ToolError, match="no conversation"):
        await tool.handler(ToolContext(), query="x")
    assert backend.calls == []


@pytest.mark.parametrize(("query", "message"), [("", "some words"), ("  ", "some words"),
                                                ("w " * 150, "too long")])  # fmt: skip
async def test_search_conversation_refuses_bad_queries(query: str, message: str) -> None:
    tool = make_search_conversation_tool(FakeSearch())
    with pytest.raises(ToolError, match=message):
        await tool.handler(ToolContext(conversation_id=1), query=query)


def test_search_conversation_summary() -> None:
    tool = make_search_conversation_tool(FakeSearch())
    assert tool.summarize is not None
    assert tool.summarize({"query": "deploy  friday"}) == "deploy friday"


async def test_search_conversation_works_over_the_storage_repository(tmp_path: Path) -> None:
    """Storage's MessageRepository fits the protocol structurally (mypy checks it here too)."""
    async with Database.open(tmp_path / "s.db") as db:
        conversation = await ConversationRepository(db).create("thread", 1, 100, 10, "t", None, 5)
        other = await ConversationRepository(db).create("thread", 1, 101, 10, "u", None, 5)
        messages = MessageRepository(db)
        await messages.add_user_message(conversation.id, "we deploy on friday", 5, "alice", 900)
        await messages.add_user_message(conversation.id, "lunch is at noon", 6, "bob", 901)
        await messages.add_user_message(other.id, "deploy elsewhere", 5, "alice", 902)
        tool = make_search_conversation_tool(messages)
        ctx = ToolContext(conversation_id=conversation.id)
        result = await tool.handler(ctx, query="deploy")
        assert result.startswith('1 match for "deploy" in this conversation')
        assert "· alice] we **deploy** on friday" in result
        assert "elsewhere" not in result
        assert (await tool.handler(ctx, query="zebra")).startswith("No earlier messages")


def _typed(backend: ConversationSearch) -> ConversationSearch:
    return backend


def test_search_conversation_fake_satisfies_protocol() -> None:
    assert _typed(FakeSearch()) is not None
