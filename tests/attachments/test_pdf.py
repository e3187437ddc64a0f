"""PDF attachments: text page by page, page and token caps, scanned, encrypted, damaged."""

from __future__ import annotations

from bot.attachments import AttachmentLimits, SkippedAttachment, TextAttachment
from tests.attachments.conftest import Read, only
from tests.attachments.samples import encrypt_pdf, make_pdf, pdf_pages
from tests.fakes.discord.cdn import FakeFile


async def test_pdf_text_is_read_page_by_page(read: Read) -> None:
    pdf = make_pdf(["Quarterly report\nRevenue grew (a lot).", "Page two: costs fell."])
    reading = await read(FakeFile("report.pdf", pdf))
    result = only(reading)
    assert isinstance(result, TextAttachment)
    assert result.kind == "pdf" and result.note is None and result.encoding is None
    assert result.text == (
        "[page 1]\nQuarterly report\nRevenue grew (a lot).\n\n[page 2]\nPage two: costs fell."
    )
    assert result.for_model().startswith('<attachment name="report.pdf">\n[page 1]\n')
    assert reading.summary is None


async def test_pdf_pages_over_the_cap_are_left_out_with_a_note(read: Read) -> None:
    limits = AttachmentLimits(max_pdf_pages=3)
    pdf = make_pdf([f"Chapter {n}" for n in range(1, 8)])
    reading = await read(FakeFile("book.pdf", pdf), limits=limits)
    result = only(reading)
    assert isinstance(result, TextAttachment)
    assert "[page 3]\nChapter 3" in result.text and "Chapter 4" not in result.text
    assert result.note == "only its first 3 of 7 pages were read"
    assert result.text.endswith("[… only its first 3 of 7 pages were read]")
    assert reading.summary == "Partly read: book.pdf — only its first 3 of 7 pages were read."


async def test_pdf_long_text_stops_extracting_at_the_token_budget(read: Read) -> None:
    limits = AttachmentLimits(max_file_tokens=1_500)
    result = only(await read(FakeFile("manual.pdf", pdf_pages(30)), limits=limits))
    assert isinstance(result, TextAttachment)
    assert result.tokens <= 1_500
    assert "[page 30]" not in result.text
    assert result.note is not None
    assert result.note.startswith("cut to its first 1,500 tokens, in page ")
    assert result.note.endswith(" of 30")
    assert "[… cut here: the rest of manual.pdf was left out]" in result.text


async def test_pdf_scanned_without_text_layer_is_explained(read: Read) -> None:
    result = only(await read(FakeFile("scan.pdf", make_pdf(["", ""]))))
    assert isinstance(result, SkippedAttachment)
    assert result.reason == (
        "a scanned PDF with no text layer (attach its pages as images instead)"
    )


async def test_pdf_encrypted_with_a_password_is_explained(read: Read) -> None:
    locked = encrypt_pdf(make_pdf(["secret plans"]), user_password="hunter2")
    result = only(await read(FakeFile("locked.pdf", locked)))
    assert isinstance(result, SkippedAttachment)
    assert result.reason == "an encrypted PDF (it needs a password; attach a copy without one)"


async def test_pdf_encrypted_without_a_user_password_is_read(read: Read) -> None:
    restricted = encrypt_pdf(make_pdf(["printing restricted only"]), user_password="")
    result = only(await read(FakeFile("restricted.pdf", restricted)))
    assert isinstance(result, TextAttachment)
    assert result.text == "[page 1]\nprinting restricted only"


async def test_pdf_damaged_files_are_explained(read: Read) -> None:
    whole = make_pdf(["fine text"])
    reading = await read(
        FakeFile("cut.pdf", whole[: len(whole) // 2]),
        FakeFile("fake.pdf", b"this is not a pdf at all, just words"),
        FakeFile("empty.pdf", b""),
    )
    assert [getattr(r, "reason", None) for r in reading.results] == [
        "not a valid PDF (the file is damaged)"
    ] * 3
    assert reading.summary == (
        "Not read: cut.pdf, fake.pdf, empty.pdf — not a valid PDF (the file is damaged)."
    )
