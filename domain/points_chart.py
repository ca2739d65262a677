"""The ranking bar chart (matplotlib, PNG bytes) with Chinese names.

matplotlib ships no CJK font: Chinese names become empty boxes ("Glyph … missing")
unless one is installed (Debian: ``fonts-wqy-microhei`` or ``fonts-noto-cjk``). The chart
looks for one and, when there is none, logs a warning and labels bars with numbers.

Every text drawn (names, the title) goes through :func:`_plain`: no mathtext, so a
name like ``$x^$`` is drawn as typed instead of failing the chart."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from decimal import Decimal
from functools import cache

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.figure import Figure

log = logging.getLogger(__name__)

#: Substrings of font family names that carry Chinese glyphs, preferred first.
CJK_HINTS = (
    "Noto Sans CJK",
    "Noto Serif CJK",
    "Source Han",
    "WenQuanYi",
    "CJK",
    "Hei",
    "Song",
    "Droid Sans Fallback",
    "AR PL",
)


@cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font, or None (logged once)."""
    names = sorted({f.name for f in font_manager.fontManager.ttflist})
    for hint in CJK_HINTS:
        for name in names:
            if hint.lower() in name.lower():
                log.info("ranking chart font: %s", name)
                return name
    log.warning(
        "no CJK font found: the ranking chart labels bars with numbers instead of names. "
        "Install one (Debian: apt-get install fonts-wqy-microhei or fonts-noto-cjk)."
    )
    return None


def _plain(text: str) -> str:
    """A label as matplotlib should draw it: without control characters (which have no
    glyph); it is drawn with ``parse_math=False``."""
    return "".join(ch for ch in text if ch.isprintable()) or "?"


def ranking_chart(
    title: str, rows: Sequence[tuple[str, Decimal]], *, maximum: Decimal = Decimal("110")
) -> bytes:
    """A horizontal bar chart of (name, score), best on top, as PNG bytes."""
    font = cjk_font()
    labels = [_plain(name) if font else str(index + 1) for index, (name, _) in enumerate(rows)]
    values = [float(score) for _, score in rows]  # drawing only; figures stay Decimal
    height = max(2.5, 0.4 * len(rows) + 1.2)
    fig = Figure(figsize=(7, height), dpi=100)
    ax = fig.add_subplot()
    props = font_manager.FontProperties(family=font) if font else None
    positions = list(range(len(rows)))[::-1]
    bars = ax.barh(positions, values, color="#c8102e")
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontproperties=props, parse_math=False)
    ax.set_xlim(0, float(maximum))
    ax.axvline(60, color="#888888", linestyle="--", linewidth=1)
    for bar, value in zip(bars, values, strict=True):
        ax.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            f"{value:g}",
            va="center",
            fontsize=9,
        )
    shown = title if font else (title.encode("ascii", "ignore").decode().strip() or "Ranking")
    ax.set_title(_plain(shown), fontproperties=props, parse_math=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
