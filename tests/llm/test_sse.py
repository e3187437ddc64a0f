"""SSEDecoder framing rules, fed byte by byte and at every split point."""

from __future__ import annotations

import itertools

import pytest

from bot.llm.sse import SSEDecoder

STREAM = (
    b": OPENROUTER PROCESSING\n\n"
    b'data: {"t": "h\xc3\xa9llo \xe6\xbc\xa2"}\n\n'
    b"data:nospace\n\n"
    b"event: message\nid: 7\nretry: 100\ndata: first\ndata: second\n\n"
    b":keep-alive\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [b'{"t": "h\xc3\xa9llo \xe6\xbc\xa2"}', b"nospace", b"first\nsecond", b"[DONE]"]


def feed_split(data: bytes, cuts: list[int]) -> list[bytes]:
    decoder = SSEDecoder()
    out: list[bytes] = []
    bounds = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(bounds):
        out += decoder.feed(data[start:end])
    return out + decoder.flush()


def test_sse_whole_stream_yields_data_payloads() -> None:
    assert feed_split(STREAM, []) == EXPECTED


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_sse_other_line_endings_give_same_payloads(ending: bytes) -> None:
    assert feed_split(STREAM.replace(b"\n", ending), []) == EXPECTED


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_sse_split_at_every_byte_offset(ending: bytes) -> None:
    data = STREAM.replace(b"\n", ending)
    for cut in range(1, len(data)):
        assert feed_split(data, [cut]) == EXPECTED, cut


def test_sse_one_byte_at_a_time() -> None:
    data = STREAM.replace(b"\n", b"\r\n")
    assert feed_split(data, list(range(1, len(data)))) == EXPECTED


def test_sse_comment_and_empty_events_produce_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b": ping\n\n\n\n:\n\nevent: ping\n\n") == []
    assert decoder.flush() == []


def test_sse_flush_dispatches_event_without_closing_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: {"b": 2}') == [b'{"a": 1}']
    assert decoder.flush() == [b'{"b": 2}']


def test_sse_leading_bom_is_ignored() -> None:
    assert feed_split(b"\xef\xbb\xbfdata: x\n\n", [1]) == [b"x"]


def test_sse_data_field_without_colon_is_empty_line() -> None:
    assert feed_split(b"data\ndata: b\n\n", []) == [b"\nb"]


def test_sse_named_events_give_their_data() -> None:
    # Anthropic and the Responses API put an `event:` line before every `data:` line.
    decoder = SSEDecoder()
    stream = (
        b'event: message_start\ndata: {"a":1}\n\n'
        b"event: ping\ndata: {}\n\n"
        b"event: two_lines\ndata: first\ndata: second\n\n"
        b"event: no_data\n\n"
        b'event: content_block_delta\ndata: {"b":2}\n\n'
    )
    payloads = [p for i in range(0, len(stream), 7) for p in decoder.feed(stream[i : i + 7])]
    assert payloads == [b'{"a":1}', b"{}", b"first\nsecond", b'{"b":2}']
