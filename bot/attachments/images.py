"""Images for vision models with Pillow: verified, downscaled, re-encoded, their tokens estimated.

Only PNG, JPEG, WebP and GIF are opened (Pillow reads many more formats; fewer parsers on
untrusted bytes is less risk). A file is verified first, then decoded: JPEGs through the
decoder's own draft scaling (1/2 … 1/8, so a 48-megapixel photo never decodes at full size),
others only when their pixel count is within `image_max_source_pixels`. The result fits
`image_max_side` x `image_max_pixels`, is turned upright by its EXIF orientation and is
re-encoded, which also drops EXIF metadata (GPS positions of phone photos included): PNG for
graphics and anything transparent, JPEG for photos or when the PNG would be too large. GIFs
give their first frame. Everything here runs in a worker thread.

Image tokens, for budget reservation, are the larger of two providers' published formulas
for the final size, so the estimate covers either:
- Anthropic: width x height / 750 (at most ~1,600 for 1568 px / 1.15 MP);
- OpenAI (high detail): the image is fitted into 2048 x 2048, its shorter side scaled to at most
  768, then 85 + 170 per 512-px tile.
Gemini counts 258 per 768-px tile, which both exceed.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageFile, UnidentifiedImageError

from bot.attachments.download import Unreadable
from bot.attachments.models import AttachmentLimits, ImageMime

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
JPEG_QUALITY = 85
_EXIF_ORIENTATION = 0x0112
_UPRIGHT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, slots=True)
class PreparedImage:
    data: bytes
    mime: ImageMime
    width: int
    height: int
    original_width: int
    original_height: int
    animated: bool


def estimate_image_tokens(width: int, height: int) -> int:
    anthropic = math.ceil(width * height / 750)
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    openai = 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)
    return max(anthropic, openai)


def fit(width: int, height: int, limits: AttachmentLimits) -> tuple[int, int]:
    """The largest size with the same aspect ratio within the side and pixel limits."""
    scale = min(
        1.0,
        limits.image_max_side / max(width, height),
        math.sqrt(limits.image_max_pixels / (width * height)),
    )
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def prepare_image(data: bytes, *, claimed: str, limits: AttachmentLimits) -> PreparedImage:
    """`claimed` names the format the attachment says it is ("PNG"), for the notes."""
    invalid = f"not a valid {claimed} image"
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            return _prepare(image, limits)
    except Unreadable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unreadable(_too_many_pixels(limits)) from None
    except UnidentifiedImageError:
        raise Unreadable(invalid) from None
    except Exception:  # truncated or corrupt data fails inside Pillow's decoders
        raise Unreadable(f"{invalid} (the file is damaged)") from None


def _too_many_pixels(limits: AttachmentLimits) -> str:
    megapixels = limits.image_max_source_pixels / 1e6
    return f"the image has more than {megapixels:g} million pixels"


def _prepare(image: ImageFile.ImageFile, limits: AttachmentLimits) -> PreparedImage:
    source_format = image.format
    original = image.size
    animated = getattr(image, "n_frames", 1) > 1
    orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    target = fit(original[0], original[1], limits)
    if source_format == "JPEG":
        image.draft(None, target)
    if image.size[0] * image.size[1] > limits.image_max_source_pixels:
        raise Unreadable(_too_many_pixels(limits))
    image.load()
    frame = _flatten_mode(image)
    if frame.size != target:
        frame = frame.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if orientation in _UPRIGHT:
        frame = frame.transpose(_UPRIGHT[orientation])
    encoded, mime = _encode(frame, graphics=source_format in ("PNG", "GIF"), limits=limits)
    return PreparedImage(
        encoded, mime, frame.width, frame.height, original[0], original[1], animated
    )


def _flatten_mode(image: Image.Image) -> Image.Image:
    """RGB, L or RGBA (RGBA only when some pixel is actually transparent)."""
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if transparent:
        rgba = image.convert("RGBA")
        extrema = rgba.getchannel("A").getextrema()
        opaque = extrema[0] == 255  # a single band: (lowest, highest)
        return rgba.convert("RGB") if opaque else rgba
    if image.mode in ("RGB", "L"):
        return image
    return image.convert("RGB")


def _encode(
    image: Image.Image, *, graphics: bool, limits: AttachmentLimits
) -> tuple[bytes, ImageMime]:
    if graphics or image.mode == "RGBA":
        out = io.BytesIO()
        image.save(out, format="PNG")
        if out.tell() <= limits.image_output_max_bytes:
            return out.getvalue(), "image/png"
    if image.mode == "RGBA":
        # JPEG has no transparency: put the image on white, as most chat apps show it.
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue(), "image/jpeg"
