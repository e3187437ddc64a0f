"""The usage chart: cost per day as stacked bars, rendered to PNG bytes with matplotlib.

matplotlib is imported inside `render_cost_chart`, so the bot doesn't pay for it at start-up,
and only its object API is used (a `Figure` with an Agg canvas, never pyplot): pyplot keeps
global state and is not safe from the worker threads charts are rendered in.

The figure has a white background with dark text so it reads the same on Discord's dark and
light themes. Labels come from members and admins: characters the available fonts can't draw
(emoji, scripts without an installed font) are dropped instead of drawn as boxes, and `$` is
never parsed as mathtext.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

log = logging.getLogger(__name__)

# Discord's attachment limit for bots without boosts is 8 MiB (newer limits are larger).
MAX_PNG_BYTES = 8 * 1024 * 1024
WIDTH_IN, HEIGHT_IN, DPI = 11.0, 5.5, 110  # 1210 x 605 px before the tight crop
MAX_LABEL = 28
# Tried in order; the first is matplotlib's bundled font, the others help when installed.
_FONT_CANDIDATES = ("DejaVu Sans", "Noto Sans", "Noto Sans CJK JP", "Noto Sans CJK SC")
_PALETTE = (
    "#4C72B0",
    "#DD8452",
    "#55A868",
    "#C44E52",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#CCB974",
    "#64B5CD",
)
_EPOCH = date(1970, 1, 1)
_OTHER_COLOUR = "#A0A0A0"
_TEXT = "#222222"
_GRID = "#DDDDDD"


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked layer: a label and its cost (micro-dollars) on each day of the chart."""

    label: str
    values_micros: Sequence[int]
    fallback: str = "?"  # shown when no character of `label` can be drawn
    muted: bool = False  # grey, for the "other" layer


@dataclass(frozen=True, slots=True)
class ChartData:
    title: str
    subtitle: str
    days: Sequence[date]
    series: Sequence[Series]
    empty_message: str | None = None  # drawn instead of bars when set
    legend: bool = True


def render_cost_chart(data: ChartData, *, dpi: int = DPI) -> bytes:
    """PNG bytes of the chart; CPU-bound, call it through `asyncio.to_thread`."""
    png = _render(data, dpi)
    while len(png) > MAX_PNG_BYTES and dpi > 40:
        dpi //= 2  # never expected at these sizes; a guard, not a plan
        log.warning("usage chart was %d bytes; rendering again at %d dpi", len(png), dpi)
        png = _render(data, dpi)
    return png


def _render(data: ChartData, dpi: int) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fonts = _fonts()
    clean = functools.partial(_printable, charmap=fonts.charmap)
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_facecolor("white")
    family = list(fonts.families)
    fig.suptitle(
        clean(data.title) or "Usage cost per day",
        color=_TEXT,
        fontsize=15,
        fontweight="bold",
        family=family,
        parse_math=False,
    )
    ax.set_title(clean(data.subtitle), color=_TEXT, fontsize=11, family=family, parse_math=False)
    ax.set_ylabel("Cost (US dollars)", color=_TEXT, fontsize=11)
    ax.set_xlabel("Day (UTC)", color=_TEXT, fontsize=11)
    _style_axes(ax)
    if data.empty_message is not None or not data.days or not data.series:
        _draw_empty(ax, clean(data.empty_message or "No usage in this period"), family)
    else:
        _draw_bars(ax, data, clean, family)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return out.getvalue()


def _style_axes(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#888888")
    ax.tick_params(colors=_TEXT, labelsize=10)
    ax.grid(axis="y", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _draw_empty(ax: Axes, message: str, family: list[str]) -> None:
    ax.set_xticks([])
    ax.set_ylim(0, 1)
    ax.set_yticks([0.0, 0.5, 1.0], ["$0.00", "$0.50", "$1.00"])
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=16,
        color="#555555",
        family=family,
        parse_math=False,
    )


def _draw_bars(ax: Axes, data: ChartData, clean: functools.partial[str], family: list[str]) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    n = len(data.days)
    # matplotlib's date axis counts days since 1970-01-01, the same as the rollup's `day`.
    x = [float((d - _EPOCH).days) for d in data.days]
    bottoms = [0.0] * n
    peak = 0.0
    handles = []
    labels = []
    for i, series in enumerate(data.series):
        values = [v / 1_000_000 for v in series.values_micros]
        colour = _OTHER_COLOUR if series.muted else _PALETTE[i % len(_PALETTE)]
        handles.append(ax.bar(x, values, bottom=bottoms, width=0.8, color=colour))
        labels.append(_shorten(clean(series.label) or series.fallback))
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        peak = max([peak, *bottoms])
    decimals = 2 if peak >= 0.05 else 4
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"${y:,.{decimals}f}"))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=12)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_ylim(0, peak * 1.08 if peak > 0 else 1)
    if data.legend:
        # Labels passed explicitly (ax.bar(label=…) would hide names starting with "_"),
        # reversed so the legend reads top-down like the stack.
        legend = ax.legend(
            handles[::-1],
            labels[::-1],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            fontsize=10,
            labelcolor=_TEXT,
            prop={"family": family, "size": 10},
        )
        for text in legend.get_texts():
            text.set_parse_math(False)


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Fonts:
    families: tuple[str, ...]
    charmap: frozenset[int]


@functools.cache
def _fonts() -> _Fonts:
    """The candidate fonts that are installed, and every character they can draw."""
    from matplotlib.font_manager import FontProperties, findfont, get_font

    families: list[str] = []
    chars: set[int] = set()
    for name in _FONT_CANDIDATES:
        try:
            path = findfont(FontProperties(family=[name]), fallback_to_default=False)
        except ValueError:
            continue
        families.append(name)
        chars.update(get_font(path).get_charmap())
    if not families:  # matplotlib always ships DejaVu Sans; this is belt and braces
        families.append("sans-serif")
    return _Fonts(tuple(families), frozenset(chars))


def _printable(text: str, charmap: frozenset[int]) -> str:
    """`text` without the characters no font can draw (matplotlib would warn and draw boxes)."""
    if not charmap:
        return text
    kept = "".join(c for c in text if ord(c) in charmap or c in "\n ")
    return " ".join(kept.split())
