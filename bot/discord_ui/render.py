"""Pure rendering: an `AnswerState` in, the Discord messages that show it out.

`render(state, reasoning_mode=…, now=…)` returns one `MessagePayload` per Discord message,
in order. It does no I/O and imports no discord: a thin adapter turns payloads into
discord.py kwargs (and must send every message with `allowed_mentions=AllowedMentions.none()`,
which is why model text is kept faithful here: `@everyone` is shown, never pinged).

Why plain content: it is copyable, searchable and quotable, renders fenced code with
highlighting, lists, quotes and subtext the same on every client, and edits cheaply. Embeds
allow 4096 characters per description but render as a card, wrap code blocks narrowly on
mobile and copy badly; Components V2 allows 4000 across text displays but a V2 message may not
carry `content` at all, so the answer stops being plain message text for search, replies and
bridges. 2000 characters per message is the price, and `split.py` pays it.

Layout of a working answer (the header goes on the first message, the trailer on the last):

    💭 Thinking… (7 s)                       show/summary; collapsed once reasoning stops
    -# …the last ~200 characters of reasoning show only, while reasoning
    ✅ 🔧 calculator · 2*21 → 42 · 0.1 s       one line per tool call, ⏳ while running
    (blank line)
    the answer, or ⏳ Working… when nothing at all is visible yet
    (blank line)
    ⏹️ Stopped / ⚠️ <error> / <info> <note>   trailer: status, notes, then when done
    -# gpt-4o-mini · 1,234 in / 567 out · $0.0012

When done, reasoning collapses to `💭 Thought for 12 s` (show and summary; nothing in hide).

Stability rule. Message i only changes when its own content changes: the answer is split
with budgets that do not depend on how the header looks at the moment. The header is charged
at its widest form (a live excerpt's full room once reasoning has been seen in show mode;
a finished tool line's room for a running one), and every part keeps `FOOTER_ROOM` free so
the final footer lands in the last message without moving any cut. So while text streams,
full earlier messages stay byte-identical; at the end, only the first message (header
collapse) and the last (footer) are edited. Cuts move only when a new tool line or the first
reasoning appears after the answer already spans several messages, or when a very long note
needs more than `FOOTER_ROOM`. The Stop button sits on the last message, so when a new
message starts the previous one is edited once to drop it.

For the sender: payload i is message i. Compare each payload with the one last sent for that
message and edit only on change; send new messages for new indices. The list usually only
grows, but it can shrink by one in a rare case (the header gets shorter, e.g. a tool finishes
with a short result, while an already long answer sits right at a cut): delete or blank
the surplus message then.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from bot.discord_ui.split import MESSAGE_LIMIT, is_grapheme_boundary, measure, split_markdown
from bot.discord_ui.state import AnswerState, ToolLine
from bot.errors import GENERIC_MESSAGE
from bot.money import usd
from bot.vocabulary import ReasoningMode as ReasoningMode  # re-exported for the presenter

log = logging.getLogger(__name__)

ButtonStyle = Literal["primary", "secondary", "success", "danger"]

STOP_PREFIX = "switchboard:stop:"
RETRY_PREFIX = "switchboard:retry:"
REGENERATE_PREFIX = "switchboard:regenerate:"
INFO = "\u2139\ufe0f"  # information source emoji
PLACEHOLDER = "⏳ Working…"
EMPTY_ANSWER = "*(The model returned an empty answer.)*"

FOOTER_ROOM = 200  # kept free in every part so the final footer never moves a cut
HEADER_MAX = 900  # tool lines beyond this collapse into one "… earlier" line
EXCERPT_CHARS = 200
EXCERPT_MAX = 240  # measured after escaping
FIELD_CHARS = 60  # tool argument label / result preview
FIELD_MAX = 90  # measured after escaping
REASONING_LINE_ROOM = 32
NOTE_MAX = 200
ERROR_MAX = 300
TRAILER_MAX = 800  # notes shrink past this, so header + trailer always leave room for text
# What a tool line may still grow by: its label (once the call is complete) and its result.
_LABEL_ROOM = len(" · ") + FIELD_MAX
_RESULT_ROOM = len(" → ") + FIELD_MAX + len(" · 59 min 59 s") + 2


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    custom_id: str
    label: str
    style: ButtonStyle
    emoji: str | None = None


@dataclass(frozen=True, slots=True)
class MessagePayload:
    """One Discord message's content and buttons; `final` once the answer has ended."""

    content: str
    components: tuple[ButtonSpec, ...] = ()
    final: bool = False


def stop_button(answer_id: str) -> ButtonSpec:
    return ButtonSpec(STOP_PREFIX + answer_id, "Stop", "secondary", "⏹️")


def retry_button(answer_id: str) -> ButtonSpec:
    return ButtonSpec(RETRY_PREFIX + answer_id, "Retry", "primary", "🔄")


def regenerate_button(answer_id: str) -> ButtonSpec:
    return ButtonSpec(REGENERATE_PREFIX + answer_id, "Regenerate", "secondary", "🔁")


def render(
    state: AnswerState, *, reasoning_mode: ReasoningMode, now: float
) -> list[MessagePayload]:
    final = state.is_final
    header_lines, header_room = _header(state, reasoning_mode, now)
    header = "\n".join(header_lines)
    trailer = "\n".join(_trailer(state, now))

    answer = state.answer_text
    if not answer and final and state.status == "complete":
        answer = EMPTY_ANSWER
    budget = MESSAGE_LIMIT - FOOTER_ROOM
    first_budget = budget - (max(header_room, measure(header)) + 2 if header else 0)
    last_extra = max(0, measure(trailer) + 2 - FOOTER_ROOM) if trailer else 0
    parts = split_markdown(answer, budget, first_budget=first_budget, last_extra=last_extra)
    chunks = [c for c in (p.content.strip() for p in parts) if c] or [""]
    if not chunks[0] and not header and not final:
        chunks[0] = PLACEHOLDER  # Discord refuses empty messages; the member sees progress

    contents = list(chunks)
    contents[0] = _join(header, contents[0])
    contents[-1] = _join(contents[-1], trailer)
    buttons: tuple[ButtonSpec, ...] = ()
    if state.answer_id:
        if not final:
            buttons = (stop_button(state.answer_id),)
        elif state.status in ("error", "interrupted"):
            buttons = (retry_button(state.answer_id),)
        elif state.status in ("complete", "stopped") and state.regenerable:
            # The latest answer of a conversation can be asked again (a newer one takes the
            # button away from it).
            buttons = (regenerate_button(state.answer_id),)
    last = len(contents) - 1
    return [
        MessagePayload(_clamp(c), buttons if i == last else (), final)
        for i, c in enumerate(contents)
    ]


def _join(a: str, b: str) -> str:
    return f"{a}\n\n{b}" if a and b else a or b


def _clamp(content: str) -> str:
    # Budgets guarantee this never triggers; it is the last guard against a 400 from Discord.
    if measure(content) > MESSAGE_LIMIT:
        log.error("rendered message over the limit (%d units); truncating", measure(content))
    while measure(content) > MESSAGE_LIMIT:
        content = shorten(content, len(content) - (measure(content) - MESSAGE_LIMIT) - 1)
    return content


# --- header ------------------------------------------------------------------------------------


def _header(state: AnswerState, mode: ReasoningMode, now: float) -> tuple[list[str], int]:
    """The lines above the answer and the room they are charged (see the stability rule)."""
    lines: list[str] = []
    room = 0
    if mode != "hide" and state.reasoning_seen:
        room += REASONING_LINE_ROOM
        seconds = state.reasoning_seconds(now)
        if state.reasoning_active and not state.is_final:
            lines.append(f"💭 Thinking… ({int(seconds)} s)")
            excerpt = reasoning_excerpt(state.reasoning_excerpt) if mode == "show" else ""
            if excerpt:
                lines.append(f"-# {excerpt}")
        else:
            lines.append(f"💭 Thought for {_whole_seconds(seconds)}")
        if mode == "show":
            room += 1 + len("-# ") + EXCERPT_MAX
    tool_lines: list[str] = []
    tool_room = 0
    shown = 0
    for tool in reversed(state.tools):
        line = tool_line(tool)
        cost = measure(line) + 1
        if not tool.finished:
            cost += _RESULT_ROOM + (0 if tool.call_id else _LABEL_ROOM)
        if room + tool_room + cost + 60 > HEADER_MAX and shown:
            break
        tool_lines.append(line)
        tool_room += cost
        shown += 1
    hidden = len(state.tools) - shown
    if hidden:
        more = f"🔧 … {hidden} earlier tool call{'s' if hidden > 1 else ''}"
        tool_lines.append(more)
        tool_room += measure(more) + 1
    lines.extend(reversed(tool_lines))
    return lines, room + tool_room


_ICONS = {
    "pending": "⏳",
    "running": "⏳",
    "ok": "✅",
    "error": "❌",
    "timeout": "❌",
    "refused": "❌",
    "cancelled": "⏹️",
}
_EMPTY_RESULT = {"timeout": "timed out", "refused": "refused"}


def tool_line(tool: ToolLine) -> str:
    """`✅ 🔧 name · args → result · 1.2 s`; args and result are one escaped short line."""
    line = f"{_ICONS[tool.status]} 🔧 {escape_inline(shorten(tool.name, 40))}"
    label = field_text(tool.label)
    if label:
        line += f" · {label}"
    if tool.status == "cancelled":
        return line + " → cancelled"  # the loop's placeholder result says nothing more
    if tool.finished:
        # ❌ already says it failed; the loop's "Error: " prefix would only take room.
        raw = tool.result if tool.status == "ok" else tool.result.removeprefix("Error: ")
        result = field_text(raw) or _EMPTY_RESULT.get(tool.status, "")
        if result:
            line += f" → {result}"
        if tool.duration_s is not None:
            line += f" · {format_duration(tool.duration_s)}"
    return line


def field_text(raw: str) -> str:
    """A tool argument or result as a short, single, markdown-inert line."""
    text = shorten(flatten(raw), FIELD_CHARS)
    escaped = escape_inline(text)
    width = FIELD_CHARS
    while measure(escaped) > FIELD_MAX and width > 10:
        width -= 10
        escaped = escape_inline(shorten(text, width))
    return escaped


_EMPHASIS = re.compile(r"\*{2,}|_{2,}|~~|\|\||`+")


def reasoning_excerpt(reasoning: str) -> str:
    """The end of the reasoning: one line, emphasis markers dropped, starting at a word."""
    flat = flatten(_EMPHASIS.sub("", reasoning))
    if len(flat) <= EXCERPT_CHARS and measure(escape_inline(flat)) <= EXCERPT_MAX:
        return escape_inline(flat)
    start = max(0, len(flat) - EXCERPT_CHARS)
    while True:
        space = flat.find(" ", start, start + 40)
        if space >= 0:
            start = space + 1
        else:
            while start < len(flat) and not is_grapheme_boundary(flat, start):
                start += 1
        escaped = "…" + escape_inline(flat[start:])
        if measure(escaped) <= EXCERPT_MAX or len(flat) - start < 20:
            return escaped
        start += 20  # heavy escaping (or wide characters): show less


# --- trailer -----------------------------------------------------------------------------------


def _trailer(state: AnswerState, now: float) -> list[str]:
    lines = _trailer_lines(state, NOTE_MAX, now)
    if measure("\n".join(lines)) > TRAILER_MAX:
        lines = _trailer_lines(state, 60, now)
    return lines


def _trailer_lines(state: AnswerState, note_max: int, now: float) -> list[str]:
    lines: list[str] = []
    if state.status == "stopped":
        lines.append("⏹️ Stopped")
    elif state.status == "interrupted":
        lines.append("⚠️ Interrupted by a restart")
    elif (waited := state.waiting_for_model_s(now)) is not None and (
        waited >= state.waiting_notice_s
    ):
        lines.append(f"⏳ Still waiting for the model ({int(waited)} s)…")
    elif state.status == "error":
        text = shorten(flatten(state.error_text or GENERIC_MESSAGE), ERROR_MAX)
        if state.error_id:
            text += f" (error id `{escape_code(shorten(state.error_id, 40))}`)"
        lines.append(f"⚠️ {text}")
    lines.extend(f"{INFO} {shorten(flatten(note), note_max)}" for note in state.notes[-3:])
    if state.history_note:
        lines.append(f"-# {INFO} {shorten(flatten(state.history_note), note_max)}")
    if state.is_final:
        if state.sources:
            lines.append(sources_line(state.sources))
        footer = footer_line(state)
        if footer:
            lines.append(footer)
    return lines


SOURCES_SHOWN = 5


def sources_line(sources: list[tuple[str, str]]) -> str:
    """`-# Sources: [title](<url>) · …`: the links a tool's results named (angle brackets keep
    Discord from unfolding an embed for each)."""
    shown = []
    for title, url in sources[:SOURCES_SHOWN]:
        label = escape_inline(shorten(flatten(title), 40)).replace("]", "")
        shown.append(f"[{label or 'link'}](<{url.replace('>', '%3E')}>)")
    more = len(sources) - SOURCES_SHOWN
    tail = f" · +{more} more" if more > 0 else ""
    return "-# Sources: " + " · ".join(shown) + tail


def footer_line(state: AnswerState) -> str:
    """`-# model · 1,234 in / 567 out · $0.0012`; `≈` marks estimated numbers."""
    bits: list[str] = []
    if state.model:
        bits.append(escape_inline(shorten(state.model, 60)))
    approx = "≈" if state.estimated else ""
    if state.calls_reported:
        bits.append(f"{approx}{state.tokens_in:,} in / {approx}{state.tokens_out:,} out")
        if state.cost_micros is not None:
            bits.append(approx + usd(state.cost_micros))
    return "-# " + " · ".join(bits) if bits else ""


# --- small formatting helpers --------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """Tool time: `0.4 s`, `12 s`, `2 min 5 s`."""
    if seconds < 9.95:
        return f"{max(seconds, 0.0):.1f} s"
    return _whole_seconds(seconds)


def _whole_seconds(seconds: float) -> str:
    if seconds < 1:
        return "<1 s"
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60} s"


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"([\\*_~`|<>\[\]#])")


def flatten(text: str) -> str:
    """One line: whitespace runs become one space; control and bidi-override characters go."""
    return " ".join(_CONTROL.sub(" ", text).split())


def escape_inline(text: str) -> str:
    """Backslash-escape what Discord markdown would act on; break autolinks (no embeds)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text).replace("://", "\\://")
    if escaped[:1] in ("-", "+"):
        escaped = "\\" + escaped
    return escaped


def escape_code(text: str) -> str:
    return text.replace("`", "\u02cb")  # modifier grave: looks alike, cannot close the span


def shorten(text: str, width: int) -> str:
    """At most `width` characters; cut at a space near the end when there is one, add `…`."""
    if len(text) <= width:
        return text
    cut = width - 1
    while cut > 0 and not is_grapheme_boundary(text, cut):
        cut -= 1
    space = text.rfind(" ", max(0, cut - 15), cut + 1)
    if space > 0:
        cut = space
    return text[:cut].rstrip() + "…"
