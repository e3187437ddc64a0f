"""Image attachments: verified, downscaled, upright, re-encoded; tokens; content parts."""

from __future__ import annotations

import base64
import io

from PIL import Image

from bot.attachments import (
    AttachmentLimits,
    ImageAttachment,
    SkippedAttachment,
    TextAttachment,
    chat_content_parts,
    estimate_image_tokens,
    image_content_part,
)
from bot.attachments.images import fit
from tests.attachments.conftest import Read, only
from tests.attachments.samples import animated_gif, image_bytes
from tests.fakes.discord.cdn import FakeFile

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def opened(image: ImageAttachment) -> Image.Image:
    decoded = Image.open(io.BytesIO(image.data))
    decoded.load()
    return decoded


async def test_image_large_png_is_downscaled_within_the_vision_limits(read: Read) -> None:
    result = only(await read(FakeFile("screen.png", image_bytes(4000, 3000))))
    assert isinstance(result, ImageAttachment)
    assert result.mime == "image/png"
    assert (result.width, result.height) == (1238, 928)
    assert max(result.width, result.height) <= 1568
    assert result.width * result.height <= 1_150_000
    assert opened(result).size == (1238, 928)
    assert (result.original_width, result.original_height) == (4000, 3000)
    assert result.note == "downscaled from 4000x3000"
    assert result.tokens == estimate_image_tokens(1238, 928) == 1532


async def test_image_small_png_keeps_its_size_and_needs_no_note(read: Read) -> None:
    reading = await read(FakeFile("icon.png", image_bytes(300, 200)))
    result = only(reading)
    assert isinstance(result, ImageAttachment)
    assert (result.width, result.height, result.note) == (300, 200, None)
    assert result.for_model() == "[image: icon.png, 300x200]"
    assert reading.summary is None


async def test_image_jpeg_is_turned_upright_and_loses_its_exif(read: Read) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # the camera was held sideways: rotate 90° clockwise to show
    exif[GPS_IFD] = {1: "N", 2: (47.0, 22.0, 0.0)}
    photo = image_bytes(3200, 2400, "JPEG", exif=exif)
    result = only(await read(FakeFile("photo.jpg", photo)))
    assert isinstance(result, ImageAttachment)
    assert result.mime == "image/jpeg"
    assert result.height > result.width  # upright: portrait
    decoded = opened(result)
    assert decoded.format == "JPEG"
    assert dict(decoded.getexif()) == {}
    # The blue corner of the landscape original is now at the top right.
    red, _green, blue = decoded.getpixel((decoded.width - 5, 5))  # type: ignore[misc]
    assert blue > 150 and red < 100


async def test_image_webp_and_transparent_images_get_the_right_format(read: Read) -> None:
    reading = await read(
        FakeFile("photo.webp", image_bytes(800, 600, "WEBP")),
        FakeFile("logo.webp", image_bytes(200, 200, "WEBP", mode="RGBA", color=(0, 0, 0, 0))),
        FakeFile("opaque.png", image_bytes(200, 200, mode="RGBA", color=(1, 2, 3, 255))),
    )
    photo, logo, opaque = reading.images
    assert photo.mime == "image/jpeg"
    assert logo.mime == "image/png" and opened(logo).mode == "RGBA"
    assert opaque.mime == "image/png" and opened(opaque).mode == "RGB"


async def test_image_animated_gif_gives_its_first_frame(read: Read) -> None:
    result = only(await read(FakeFile("dance.gif", animated_gif(120, 90, frames=4))))
    assert isinstance(result, ImageAttachment)
    assert result.mime == "image/png"
    assert result.note == "an animated GIF: only its first frame is shown"
    assert opened(result).convert("L").getpixel((10, 10)) == 0


async def test_image_png_that_is_not_a_png_is_refused(read: Read) -> None:
    whole = image_bytes(400, 400)
    reading = await read(
        FakeFile("cat.png", b"<html><body>Not found</body></html>"),
        FakeFile("half.png", whole[: len(whole) // 2]),
        FakeFile("photo.jpeg", b"\xff\xd8\xff\xe0 not really a jpeg"),
    )
    assert [getattr(r, "reason", None) for r in reading.results] == [
        "not a valid PNG image",
        "not a valid PNG image (the file is damaged)",
        "not a valid JPEG image (the file is damaged)",
    ]


async def test_image_jpeg_named_png_is_still_an_image(read: Read) -> None:
    result = only(await read(FakeFile("really-a-jpeg.png", image_bytes(64, 48, "JPEG"))))
    assert isinstance(result, ImageAttachment)
    assert (result.width, result.height) == (64, 48)


async def test_image_with_too_many_pixels_is_refused_before_decoding(read: Read) -> None:
    out = io.BytesIO()
    Image.new("1", (6000, 5000)).save(out, format="PNG")
    result = only(await read(FakeFile("poster.png", out.getvalue())))
    assert isinstance(result, SkippedAttachment)
    assert result.reason == "the image has more than 25 million pixels"


async def test_image_over_the_message_token_budget_is_skipped(read: Read) -> None:
    limits = AttachmentLimits(max_message_tokens=2_000)
    reading = await read(
        FakeFile("a.png", image_bytes(1000, 1000)),
        FakeFile("b.png", image_bytes(1000, 1000)),
        limits=limits,
    )
    first, second = reading.results
    assert isinstance(first, ImageAttachment) and first.tokens == 1334
    assert isinstance(second, SkippedAttachment)
    assert second.reason == (
        "the image (about 1,334 tokens) would take this message's attachments over their "
        "2,000 tokens"
    )


def test_image_tokens_take_the_larger_of_both_formulas() -> None:
    assert estimate_image_tokens(512, 512) == 350  # Anthropic: 262,144 / 750
    assert estimate_image_tokens(1092, 1092) == 1590  # Anthropic; OpenAI says 765
    assert estimate_image_tokens(2000, 100) == 765  # OpenAI: 4 tiles; Anthropic says 267


def test_image_fit_keeps_the_aspect_ratio_within_both_limits() -> None:
    limits = AttachmentLimits()
    assert fit(1568, 400, limits) == (1568, 400)
    assert fit(3136, 800, limits) == (1568, 400)
    assert fit(1200, 1200, limits) == (1072, 1072)
    assert fit(10, 10, limits) == (10, 10)


async def test_image_content_parts_keep_attachment_order(read: Read) -> None:
    reading = await read(
        FakeFile("notes.md", b"# Notes\n"),
        FakeFile("cat.png", image_bytes(40, 30)),
        FakeFile("code.zip", b"PK"),
    )
    notes, cat, skipped = reading.results
    assert isinstance(notes, TextAttachment) and isinstance(cat, ImageAttachment)
    parts = chat_content_parts("look at these", reading)
    assert parts == [
        {
            "type": "text",
            "text": f"look at these\n\n{notes.for_model()}\n\n[image: cat.png, 40x30]",
        },
        {"type": "image_url", "image_url": {"url": cat.data_url()}},
        {"type": "text", "text": skipped.for_model()},
    ]
    prefix = "data:image/png;base64,"
    assert cat.data_url().startswith(prefix)
    assert base64.b64decode(cat.data_url().removeprefix(prefix)) == cat.data
    assert image_content_part(cat, detail="low")["image_url"]["detail"] == "low"
    assert reading.tokens == notes.tokens + cat.tokens
