"""Restart recovery rewrites tool lines left "⏳" by a crash: they say they were cut off."""

from __future__ import annotations

from bot.frontend.recovery import settle_tool_lines


def test_recovery_settles_running_tool_lines_only() -> None:
    shown = (
        "✅ 🔧 calculator · 2\\*21 → 42 · 0.0 s\n"
        "⏳ 🔧 fetch\\_url · https://example.org\n"
        "\n"
        "Partial words ⏳ 🔧 in the text stay."
    )
    assert settle_tool_lines(shown) == (
        "✅ 🔧 calculator · 2\\*21 → 42 · 0.0 s\n"
        "⏹️ 🔧 fetch\\_url · https://example.org → cut off by a restart\n"
        "\n"
        "Partial words ⏳ 🔧 in the text stay."
    )
