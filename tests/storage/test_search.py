"""MessageRepository.search: FTS5, scoped to one conversation, immune to FTS5 syntax."""

from __future__ import annotations

import pytest

from bot.storage.conversations import ConversationRepository
from bot.storage.fts import fts_query
from bot.storage.messages import MessageRepository
from bot.storage.models import Conversation
from tests.storage.helpers import new_thread


@pytest.fixture
async def filled(messages: MessageRepository, thread: Conversation) -> list[int]:
    texts = [
        "We deployed the billing service on Friday",
        "The deployment failed: database migration error",
        "Lunch plans? pizza or sushi",
        'He said "AND" (twice) and left * marks everywhere',
    ]
    ids = []
    for n, text in enumerate(texts):
        stored = await messages.add_user_message(thread.id, text, 42, "ann", 100 + n)
        ids.append(stored.id)
    return ids


async def test_search_finds_words_with_a_snippet(
    messages: MessageRepository, thread: Conversation, filled: list[int]
) -> None:
    hits = await messages.search(thread.id, "migration")
    assert [h.message_id for h in hits] == [filled[1]]
    assert "**migration**" in hits[0].snippet
    assert (hits[0].role, hits[0].author_name) == ("user", "ann")
    assert hits[0].created_at.tzinfo is not None


async def test_search_ranks_messages_matching_more_words_first(
    messages: MessageRepository, thread: Conversation, filled: list[int]
) -> None:
    hits = await messages.search(thread.id, "deployment migration failed")
    assert hits[0].message_id == filled[1]
    # porter stemming: "deploy" finds "deployed".
    assert filled[0] in {h.message_id for h in await messages.search(thread.id, "deploy")}


async def test_search_is_scoped_to_the_conversation(
    messages: MessageRepository,
    conversations: ConversationRepository,
    thread: Conversation,
    filled: list[int],
) -> None:
    other = await new_thread(conversations, channel_id=4000)
    elsewhere = await messages.add_user_message(other.id, "pizza again", 7, "bob", None)
    assert [h.message_id for h in await messages.search(thread.id, "pizza")] == [filled[2]]
    assert [h.message_id for h in await messages.search(other.id, "pizza")] == [elsewhere.id]


@pytest.mark.parametrize(
    "query",
    [
        '"AND"',
        "AND",
        "twice)",
        "(twice",
        "twice*",
        "* marks",
        'marks" OR "pizza',
        "NEAR(marks twice)",
        "content:marks",
        "^marks",
        "marks -pizza",
    ],
)
async def test_search_treats_fts_syntax_as_plain_text(
    messages: MessageRepository, thread: Conversation, filled: list[int], query: str
) -> None:
    hits = await messages.search(thread.id, query)
    assert filled[3] in {h.message_id for h in hits}


@pytest.mark.parametrize("query", ["", "   ", '"', "()*:^-+", '""" *** (( :'])
async def test_search_of_only_punctuation_returns_nothing(
    messages: MessageRepository, thread: Conversation, filled: list[int], query: str
) -> None:
    assert await messages.search(thread.id, query) == []


async def test_search_before_message_and_limit(
    messages: MessageRepository, thread: Conversation, filled: list[int]
) -> None:
    hits = await messages.search(thread.id, "the", before_message_id=filled[1])
    assert [h.message_id for h in hits] == [filled[0]]
    assert len(await messages.search(thread.id, "the", limit=1)) == 1
    assert await messages.search(thread.id, "the", limit=0) == []


async def test_search_follows_answer_text_updates(
    messages: MessageRepository, thread: Conversation
) -> None:
    answer = await messages.start_answer(thread.id, "m", None)
    assert await messages.search(thread.id, "kangaroo") == []
    await messages.finish_answer(answer.id, "complete", "A kangaroo appears")
    hits = await messages.search(thread.id, "kangaroo")
    assert [(h.message_id, h.role) for h in hits] == [(answer.id, "assistant")]
    await messages.finish_answer(answer.id, "complete", "Nothing to see")
    assert await messages.search(thread.id, "kangaroo") == []


def test_search_query_quotes_every_term() -> None:
    assert fts_query('foo AND "bar" (baz*)') == '"foo" OR "and" OR "bar" OR "baz"'
    assert fts_query("café Ünïcode") == '"café" OR "ünïcode"'
    assert fts_query("?!") is None
