"""Discord's body validation rules as the fake applies them (pure, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.discord.validation import DiscordHTTPError, validate_message, validate_thread_name


def _errors(body: dict[str, Any], existing: dict[str, Any] | None = None) -> dict[str, Any]:
    with pytest.raises(DiscordHTTPError) as info:
        validate_message(body, existing=existing)
    return info.value.body


def test_validation_content_limit() -> None:
    validate_message({"content": "x" * 2000})
    body = _errors({"content": "x" * 2001})
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body"
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"


@pytest.mark.parametrize(
    ("embed", "path"),
    [
        ({"title": "t" * 257}, ("title",)),
        ({"description": "d" * 4097}, ("description",)),
        ({"footer": {"text": "f" * 2049}}, ("footer", "text")),
        ({"author": {"name": "a" * 257}}, ("author", "name")),
        ({"fields": [{"name": "n" * 257, "value": "v"}]}, ("fields", "0", "name")),
        ({"fields": [{"name": "n", "value": "v" * 1025}]}, ("fields", "0", "value")),
        ({"fields": [{"name": "n", "value": "v"}] * 26}, ("fields",)),
    ],
)
def test_validation_embed_field_limits(embed: dict[str, Any], path: tuple[str, ...]) -> None:
    node = _errors({"embeds": [embed]})["errors"]["embeds"]["0"]
    for key in path:
        node = node[key]
    assert node["_errors"]


def test_validation_embed_count_and_total() -> None:
    assert "embeds" in _errors({"embeds": [{"title": "t"}] * 11})["errors"]
    # 6000 across all embeds; surrounding whitespace is not counted.
    validate_message({"embeds": [{"description": "d" * 4000}, {"description": "e" * 2000 + "   "}]})
    body = _errors({"embeds": [{"description": "d" * 4000}, {"description": "e" * 2001}]})
    assert body["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"


def test_validation_components_v2_text_total() -> None:
    flags = 1 << 15
    nested = {"type": 17, "components": [{"type": 10, "content": "a" * 2000}] * 2}
    validate_message({"flags": flags, "components": [nested]})
    over = {"type": 17, "components": [{"type": 10, "content": "a" * 2001}] * 2}
    assert "components" in _errors({"flags": flags, "components": [over]})["errors"]
    assert "content" in _errors({"flags": flags, "content": "x", "components": [nested]})["errors"]
    # Without the flag the 4000 rule does not apply to legacy components.
    validate_message({"content": "x", "components": [over]})


def test_validation_empty_message() -> None:
    assert _errors({})["code"] == 50006
    assert _errors({"content": "   "})["code"] == 50006
    validate_message({"embeds": [{"title": "t"}]})
    # An edit is judged on the result: clearing content keeps the existing embed.
    validate_message({"content": ""}, existing={"content": "x", "embeds": [{"title": "t"}]})
    assert _errors({"content": ""}, existing={"content": "x"})["code"] == 50006


def test_validation_thread_name() -> None:
    assert validate_thread_name("ok") == "ok"
    for bad in ("", "n" * 101, None):
        with pytest.raises(DiscordHTTPError):
            validate_thread_name(bad)
