"""Text and code attachments: decoding, binary detection, cuts, and what the member is told."""

from __future__ import annotations

import codecs

import pytest

from bot.attachments import AttachmentLimits, SkippedAttachment, TextAttachment
from bot.attachments import text as text_module
from bot.attachments.kinds import Refused, classify
from bot.attachments.models import AttachmentRef
from bot.attachments.text import NotText, cut_to_tokens, decode, decode_as, is_binary
from tests.attachments.conftest import Read, only
from tests.attachments.samples import prose
from tests.fakes.discord.cdn import FakeFile

FRENCH = (
    "Le café de la gare servait une crème brûlée remarquable.\n"
    "« Voilà », dit-elle — l'œuvre était achevée, naïve et façonnée à la main.\n"
    "Prix : 5 € ; qualité supérieure, résumé envoyé à l'équipe.\n"
)
JAPANESE = (
    "今日は良い天気ですね。東京の桜が満開になりました。\n"
    "このファイルはシフトJISで保存されています。読み取れますか。\n"
    "会議は明日の午後三時からです。資料を確認してください。\n"
)


def test_decode_utf8_is_taken_as_is() -> None:
    text, encoding = decode("naïve — 東京\r\nline two\r\n".encode())
    assert (text, encoding) == ("naïve — 東京\nline two\n", "utf-8")


def test_decode_cp1252_text_reads_right() -> None:
    text, encoding = decode((FRENCH * 3).encode("cp1252"))
    assert encoding == "cp1252"
    assert text == FRENCH * 3


def test_decode_shift_jis_text_reads_right() -> None:
    text, encoding = decode((JAPANESE * 2).encode("shift_jis"))
    assert encoding in ("shift_jis", "cp932")
    assert text == JAPANESE * 2


def test_decode_non_utf8_far_into_a_long_file_is_found() -> None:
    # The first 100 KB are ASCII; the Latin-1 accents come after the detector's first sample.
    data = (prose(100_000) + "\n" + FRENCH * 4).encode("cp1252")
    text, encoding = decode(data)
    assert encoding == "cp1252"
    assert text.endswith(FRENCH * 4)


@pytest.mark.parametrize("slice_bytes", [1, 2, 3, 5, 1 << 20])
def test_decode_as_slices_keep_line_ends_and_characters_whole(
    monkeypatch: pytest.MonkeyPatch, slice_bytes: int
) -> None:
    monkeypatch.setattr(text_module, "DECODE_SLICE", slice_bytes)
    raw = "ab\r\n東京\r\n\r\nx\r"
    assert decode_as(raw.encode("shift_jis"), "shift_jis", errors="strict") == "ab\n東京\n\nx\r"
    assert decode_as(raw.encode(), "utf-8", errors="strict") == "ab\n東京\n\nx\r"
    assert decode_as(b"", "utf-8", errors="strict") == ""


def test_decode_utf16_with_bom_is_text_not_binary() -> None:
    data = codecs.BOM_UTF16_LE + "hello, wörld\n".encode("utf-16-le")
    assert decode(data) == ("hello, wörld\n", "utf-16")


def test_decode_binary_raises_not_text() -> None:
    with pytest.raises(NotText):
        decode(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4)


def test_is_binary_control_characters_without_nul() -> None:
    noisy = bytes(b for b in range(1, 32) if b not in b"\t\n\r\x0b\x0c\x1b") * 40
    assert is_binary(noisy + b"some text")
    assert not is_binary(b"\x1b[31mred log line\x1b[0m\n\ttabbed\n" * 100)


def test_cut_to_tokens_cuts_at_a_line_break_with_a_marker() -> None:
    text = prose(20_000)
    kept, tokens, total = cut_to_tokens(text, 1_000, "notes.txt")
    assert total == (len(text) + 3) // 4
    assert tokens <= 1_000
    body, marker = kept.rsplit("\n", 1)
    assert text.startswith(body + "\n")
    assert marker.startswith("[… cut here: the rest of notes.txt (about ")
    assert cut_to_tokens("short", 1_000, "x") == ("short", 2, 2)


@pytest.mark.parametrize(
    ("filename", "content_type", "kind"),
    [
        ("message.txt", "text/plain; charset=utf-8", "text"),
        ("main.py", "text/x-python; charset=utf-8", "text"),
        ("app.ts", None, "text"),
        ("data.json", "application/json", "text"),
        ("config.yaml", "application/x-yaml", "text"),
        ("Cargo.toml", "application/toml", "text"),
        ("query.sql", "application/octet-stream", "text"),
        ("lib.rs", None, "text"),
        ("Dockerfile", None, "text"),
        ("report.pdf", "application/pdf", "pdf"),
        ("cat.png", "image/png", "image"),
        ("photo.JPG", None, "image"),
        ("anim.gif", "image/gif", "image"),
        ("mystery", None, "unknown"),
    ],
)
def test_classify_by_content_type_and_name(
    filename: str, content_type: str | None, kind: str
) -> None:
    assert classify(AttachmentRef(filename, content_type, 10, "http://x/")) == kind


@pytest.mark.parametrize(
    ("filename", "content_type", "reason"),
    [
        ("code.zip", "application/zip", "a zip archive can't be read"),
        ("notes.docx", None, "a Word document can't be read"),
        ("song.mp3", "audio/mpeg", "an audio file can't be read"),
        ("clip.mp4", "video/mp4", "a video can't be read"),
        ("setup.exe", "application/x-msdownload", "a program can't be read"),
        ("photo.heic", "image/heic", "this image type (image/heic) can't be read"),
    ],
)
def test_classify_refuses_what_is_never_read(
    filename: str, content_type: str | None, reason: str
) -> None:
    refused = classify(AttachmentRef(filename, content_type, 10, "http://x/"))
    assert isinstance(refused, Refused) and refused.reason.startswith(reason)


async def test_read_text_file_gives_the_model_its_name_and_text(read: Read) -> None:
    result = only(await read(FakeFile("main.py", b"def main() -> None:\n    print('hi')\n")))
    assert isinstance(result, TextAttachment)
    assert result.kind == "text" and result.encoding == "utf-8" and result.note is None
    assert result.for_model() == (
        "<attachment name=\"main.py\">\ndef main() -> None:\n    print('hi')\n\n</attachment>"
    )


async def test_read_discords_message_txt_is_labelled_as_a_long_paste(read: Read) -> None:
    reading = await read(FakeFile("message.txt", "a very long paste ✂\n".encode() * 50))
    result = only(reading)
    assert isinstance(result, TextAttachment)
    assert result.ref.content_type == "text/plain; charset=utf-8"
    assert result.for_model().startswith(
        '<attachment name="message.txt" origin="a long message Discord turned into a file">\n'
        "a very long paste ✂\n"
    )
    assert reading.summary is None


async def test_read_cp1252_and_shift_jis_files_are_decoded_right(read: Read) -> None:
    reading = await read(
        FakeFile("legacy.txt", (FRENCH * 3).encode("cp1252")),
        FakeFile("memo.txt", (JAPANESE * 2).encode("shift_jis")),
    )
    french, japanese = reading.texts
    assert french.text == FRENCH * 3 and french.encoding == "cp1252"
    assert japanese.text == JAPANESE * 2


async def test_read_binary_file_named_txt_is_refused(read: Read) -> None:
    reading = await read(FakeFile("notes.txt", b"\x7fELF\x02\x01\x01\x00" + bytes(2000)))
    result = only(reading)
    assert isinstance(result, SkippedAttachment)
    assert result.reason == "this .txt file is binary"
    assert reading.summary == "Not read: notes.txt — this .txt file is binary."


async def test_read_unknown_type_is_read_when_it_is_text(read: Read) -> None:
    reading = await read(
        FakeFile("LICENSE.custom", b"Permission is hereby granted, free of charge\n"),
        FakeFile("blob.dat", bytes(range(256)) * 8),
    )
    text, binary = reading.results
    assert isinstance(text, TextAttachment) and text.text.startswith("Permission is hereby")
    assert isinstance(binary, SkippedAttachment)
    assert binary.reason == "a file of an unknown type that is not text can't be read"


async def test_read_empty_file_says_so(read: Read) -> None:
    result = only(await read(FakeFile("empty.txt", b"")))
    assert isinstance(result, SkippedAttachment) and result.reason == "the file is empty"


async def test_read_long_text_is_cut_and_the_member_told(read: Read) -> None:
    text = prose(200_000)
    limits = AttachmentLimits(max_file_tokens=2_000)
    reading = await read(FakeFile("server.log", text.encode()), limits=limits)
    result = only(reading)
    assert isinstance(result, TextAttachment)
    assert result.tokens <= 2_000
    assert "[… cut here: the rest of server.log (about " in result.text
    total = (len(text) + 3) // 4
    assert result.note == f"cut to its first 2,000 tokens of about {total:,}"
    assert (
        reading.summary
        == f"Partly read: server.log — cut to its first 2,000 tokens of about {total:,}."
    )


async def test_read_message_token_budget_is_shared_in_order(read: Read) -> None:
    limits = AttachmentLimits(max_file_tokens=3_000, max_message_tokens=4_000)
    files = [FakeFile(f"part{n}.md", prose(20_000, seed=n).encode()) for n in range(3)]
    reading = await read(*files, limits=limits)
    first, second, third = reading.results
    assert isinstance(first, TextAttachment) and first.note is not None
    assert isinstance(second, TextAttachment)
    assert first.tokens + second.tokens <= 4_000
    assert second.note is not None and "(a message's attachments share 4,000)" in second.note
    assert second.note.startswith(f"cut to its first {4_000 - first.tokens:,} tokens")
    assert isinstance(third, SkippedAttachment)
    assert third.reason == "this message's attachments already fill their 4,000 tokens"
    assert reading.tokens <= 4_000
