"""The `table` format of `/usage-report`: a plain-data embed spec the cog turns into one
`discord.Embed`. No discord import here; the limits are Discord's documented embed limits and
every spec this module builds respects them, whatever the names and however many groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.money import usd
from bot.storage.usage_reports import GroupBy, UsageTotals

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.billing.reports import UsageReport

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
TOP_ROWS = 10
_LABEL_LIMIT = 100  # a field name stays readable; Discord would allow 256

_PLURAL: dict[GroupBy, str] = {
    "user": "members",
    "model": "models",
    "day": "days",
    "channel": "channels",
}


@dataclass(frozen=True, slots=True)
class EmbedField:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class EmbedSpec:
    """Everything one embed shows; `description` is the lines joined."""

    title: str
    description_lines: tuple[str, ...]
    fields: tuple[EmbedField, ...]
    footer: str

    @property
    def description(self) -> str:
        return clip("\n".join(self.description_lines), DESCRIPTION_LIMIT)

    def total_chars(self) -> int:
        """What Discord counts against the 6,000-character limit of an embed."""
        fields = sum(len(f.name) + len(f.value) for f in self.fields)
        return len(self.title) + len(self.description) + fields + len(self.footer)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tokens(count: int) -> str:
    if count < 1_000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1_000:.1f}k"
    if count < 1_000_000_000:
        return f"{count / 1_000_000:.2f}M"
    return f"{count / 1_000_000_000:.2f}B"


def calls_text(count: int) -> str:
    """`1 call`, `1,234 calls`."""
    return f"{count:,} call" if count == 1 else f"{count:,} calls"


def _cost(usage: UsageTotals) -> str:
    return "no known price" if usage.all_unpriced else usd(usage.cost_micros)


def _token_line(usage: UsageTotals) -> str:
    return (
        f"{tokens(usage.total_tokens)} tokens: in {tokens(usage.prompt_tokens)}"
        f" ({tokens(usage.cached_tokens)} cached), out {tokens(usage.completion_tokens)}"
        f" ({tokens(usage.reasoning_tokens)} reasoning)"
    )


def _field_value(usage: UsageTotals) -> str:
    lines = [f"**{_cost(usage)}** · {calls_text(usage.calls)}", _token_line(usage)]
    if usage.partly_unpriced:
        lines.append(f"{calls_text(usage.unpriced_calls)} without a price (not in the cost)")
    return clip("\n".join(lines), FIELD_VALUE_LIMIT)


def build_embed(report: UsageReport, labels: Sequence[str], guild_name: str | None) -> EmbedSpec:
    """The spec for `report`; `labels[i]` names `report.rows[i]`."""
    total = report.totals
    title = clip(f"Usage report — {guild_name}" if guild_name else "Usage report", TITLE_LIMIT)
    span = f"{report.first:%Y-%m-%d} → {report.last:%Y-%m-%d} UTC"
    noun = _PLURAL[report.group_by]
    lines = [f"**{report.period_label}** · by {report.group_by}"]
    if total.calls == 0:
        lines.append("No usage in this period.")
    else:
        lines.append(f"Total: **{_cost(total)}** · {calls_text(total.calls)}")
        lines.append(_token_line(total))
        if total.unpriced_calls:
            lines.append(
                f"{calls_text(total.unpriced_calls)} had no known price: their tokens are"
                " counted, their cost is not."
            )
    rows = list(zip(report.rows, labels, strict=True))
    if report.group_by == "day":
        shown = rows[-TOP_ROWS:]  # the most recent days, still in date order
        if len(rows) > TOP_ROWS:
            lines.append(f"The last {TOP_ROWS} of {len(rows)} {noun}; `format:csv` has all.")
    else:
        shown = rows[:TOP_ROWS]
        if len(rows) > TOP_ROWS:
            lines.append(f"Top {TOP_ROWS} of {len(rows)} {noun} by cost; `format:csv` has all.")
    fields = [
        EmbedField(
            clip(f"{rank}. {clip(label, _LABEL_LIMIT)}", FIELD_NAME_LIMIT),
            _field_value(row.usage),
        )
        for rank, (row, label) in enumerate(shown, start=1)
    ][:FIELD_COUNT_LIMIT]
    footer = f"{calls_text(total.calls)} · {tokens(total.total_tokens)} tokens · {span}"
    if total.calls:
        footer = f"Total {_cost(total)} · {footer}"
    spec = EmbedSpec(title, tuple(lines), tuple(fields), clip(footer, FOOTER_LIMIT))
    while spec.total_chars() > TOTAL_LIMIT and spec.fields:
        spec = EmbedSpec(spec.title, spec.description_lines, spec.fields[:-1], spec.footer)
    return spec
