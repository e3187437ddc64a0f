"""Discord's message-body validation: the 400/50035 "Invalid Form Body" and 50006 errors.

Limits from Discord's message documentation (content 2000, 10 embeds, embed field limits, 6000
total, a nonce of 25 characters) and Components V2 (4000 characters across text displays).
Error bodies nest like Discord's:
`{"code": 50035, "message": "Invalid Form Body", "errors": {"content": {"_errors": [...]}}}`.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.models import FLAG_IS_COMPONENTS_V2, JSON
from tests.fakes.discord.payloads import error

CONTENT_LIMIT = 2000
EMBED_COUNT_LIMIT = 10
EMBED_TOTAL_LIMIT = 6000
TEXT_DISPLAY_TOTAL_LIMIT = 4000
THREAD_NAME_LIMIT = 100
NONCE_LIMIT = 25
# Component types whose text counts towards the Components V2 total.
TEXT_DISPLAY = 10


class DiscordHTTPError(Exception):
    """Raised by handlers; the server turns it into Discord's JSON error response."""

    def __init__(self, status: int, code: int, message: str, errors: Any = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = error(code, message, errors)


def unknown_message() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10008, "Unknown Message")


def unknown_channel() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10003, "Unknown Channel")


def unknown_interaction() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10062, "Unknown interaction")


def unknown_webhook() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10015, "Unknown Webhook")


def invalid_webhook_token() -> DiscordHTTPError:
    return DiscordHTTPError(401, 50027, "Invalid Webhook Token")


def _max_length(limit: int) -> JSON:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


def _length_range(low: int, high: int) -> JSON:
    return {
        "_errors": [
            {
                "code": "BASE_TYPE_BAD_LENGTH",
                "message": f"Must be between {low} and {high} in length.",
            }
        ]
    }


def _form_error(errors: JSON) -> DiscordHTTPError:
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _embed_errors(embed: JSON) -> tuple[JSON, int]:
    """Per-field errors of one embed and its counted length (trimmed, as Discord counts)."""
    errors: JSON = {}
    title = _text(embed.get("title"))
    description = _text(embed.get("description"))
    footer = _text((embed.get("footer") or {}).get("text"))
    author = _text((embed.get("author") or {}).get("name"))
    if len(title) > 256:
        errors["title"] = _max_length(256)
    if len(description) > 4096:
        errors["description"] = _max_length(4096)
    if len(footer) > 2048:
        errors["footer"] = {"text": _max_length(2048)}
    if len(author) > 256:
        errors["author"] = {"name": _max_length(256)}
    total = sum(len(s.strip()) for s in (title, description, footer, author))
    fields = embed.get("fields") or []
    if len(fields) > 25:
        errors["fields"] = _max_length(25)
    field_errors: JSON = {}
    for index, fld in enumerate(fields):
        name = _text(fld.get("name"))
        value = _text(fld.get("value"))
        this: JSON = {}
        if len(name) > 256:
            this["name"] = _max_length(256)
        if len(value) > 1024:
            this["value"] = _max_length(1024)
        if this:
            field_errors[str(index)] = this
        total += len(name.strip()) + len(value.strip())
    if field_errors and "fields" not in errors:
        errors["fields"] = field_errors
    return errors, total


def _text_display_length(components: list[Any]) -> int:
    total = 0
    for comp in components:
        if not isinstance(comp, dict):
            continue
        if comp.get("type") == TEXT_DISPLAY:
            total += len(_text(comp.get("content")))
        total += _text_display_length(comp.get("components") or [])
        accessory = comp.get("accessory")
        if isinstance(accessory, dict):
            total += _text_display_length([accessory])
    return total


def validate_message(body: JSON, *, existing: JSON | None = None) -> None:
    """Raise DiscordHTTPError like Discord does for a create (existing=None) or an edit.

    For an edit, `existing` holds the message's current content/embeds/components/attachments so
    that emptiness is judged on the result, as Discord does.
    """
    errors: JSON = {}
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_LIMIT:
        errors["content"] = _max_length(CONTENT_LIMIT)
    nonce = body.get("nonce")
    if isinstance(nonce, str) and len(nonce) > NONCE_LIMIT:
        errors["nonce"] = _max_length(NONCE_LIMIT)
    embeds = body.get("embeds")
    if isinstance(embeds, list):
        if len(embeds) > EMBED_COUNT_LIMIT:
            errors["embeds"] = _max_length(EMBED_COUNT_LIMIT)
        else:
            per_embed: JSON = {}
            total = 0
            for index, embed in enumerate(embeds):
                embed_errors, length = _embed_errors(embed if isinstance(embed, dict) else {})
                total += length
                if embed_errors:
                    per_embed[str(index)] = embed_errors
            if per_embed:
                errors["embeds"] = per_embed
            elif total > EMBED_TOTAL_LIMIT:
                errors["embeds"] = {
                    "_errors": [
                        {
                            "code": "MAX_EMBED_SIZE_EXCEEDED",
                            "message": "Embed size exceeds maximum size of 6000",
                        }
                    ]
                }
    flags = body.get("flags")
    if existing is not None and flags is None:
        flags = existing.get("flags")
    if isinstance(flags, int) and flags & FLAG_IS_COMPONENTS_V2:
        components = body.get("components") or []
        if _text_display_length(components) > TEXT_DISPLAY_TOTAL_LIMIT:
            errors["components"] = {
                "_errors": [
                    {
                        "code": "MESSAGE_TOTAL_TEXT_DISPLAY_LENGTH_EXCEEDED",
                        "message": "The total length of text displays must be "
                        f"{TEXT_DISPLAY_TOTAL_LIMIT} or fewer.",
                    }
                ]
            }
        if content:
            errors["content"] = {
                "_errors": [
                    {
                        "code": "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                        "message": "The 'content' field cannot be used when using "
                        "MessageFlags.IS_COMPONENTS_V2",
                    }
                ]
            }
    if errors:
        raise _form_error(errors)
    if _is_empty(body, existing):
        raise DiscordHTTPError(400, 50006, "Cannot send an empty message")


def _is_empty(body: JSON, existing: JSON | None) -> bool:
    def pick(key: str) -> Any:
        if key in body:
            return body[key]
        return (existing or {}).get(key)

    content = pick("content")
    return not (
        (isinstance(content, str) and content.strip())
        or pick("embeds")
        or pick("components")
        or pick("attachments")
        or pick("sticker_ids")
        or pick("poll")
    )


def validate_thread_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= THREAD_NAME_LIMIT:
        raise _form_error({"name": _length_range(1, THREAD_NAME_LIMIT)})
    return name
