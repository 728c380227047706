"""The page's charts as numbers for its SVG templates: a size scatter and bar charts.

Small SVG templates rather than a plotting library: two chart kinds, a few dozen
elements each, styled by the page's CSS (so they follow light and dark), with no
import cost and no fonts or IDs to embed. Geometry is computed here; drawing is in
``templates/charts.html.j2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

MAX_POINTS = 300   # distinct sizes drawn (the most common); the caption counts the rest
MAX_BARS = 12      # bars drawn; the rest are summed into one "other" bar
WIDTH, HEIGHT = 400, 300      # the size scatter
BAR_WIDTH = 340
LEFT, BOTTOM, TOP, RIGHT = 56, 44, 16, 16


@dataclass
class Point:
    x: float
    y: float
    r: float
    label: str
    matches: Optional[bool]   # the contract's size? None when the contract sets none


@dataclass
class SizeChart:
    """Images by height × width on log₂ axes, one circle per distinct size (area ~ count)."""

    points: list[Point] = field(default_factory=list)
    ticks_x: list[tuple[float, str]] = field(default_factory=list)
    ticks_y: list[tuple[float, str]] = field(default_factory=list)
    mark: Optional[tuple[float, float, str]] = None  # the contract's size: x, y, label
    left_out: int = 0          # distinct sizes not drawn
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[int, int, int, int] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)


def size_chart(sizes: dict[tuple[int, int], int], size: Optional[tuple[int, int]]) -> SizeChart:
    """The size scatter of the readable images, from their count by ``(height, width)``
    (the report's tally: no pass over the table), with ``size`` (h, w) marked."""
    ranked = sorted(sizes.items(), key=lambda hw_n: (-hw_n[1], hw_n[0]))
    chart = SizeChart(left_out=max(0, len(ranked) - MAX_POINTS))
    counts = dict(ranked[:MAX_POINTS])
    sides = [int(v) for hw in counts for v in hw] + (list(size) if size else [])
    if not sides:
        return chart
    low = math.floor(math.log2(max(1, min(sides))))
    high = max(low + 2, math.ceil(math.log2(max(sides) + 1)))
    x0, y0, x1, y1 = chart.plot

    def place(value: int, start: float, end: float) -> float:
        return start + (math.log2(max(1, value)) - low) / (high - low) * (end - start)

    most = max(counts.values())
    for (h, w), n in counts.items():
        h, w, n = int(h), int(w), int(n)
        chart.points.append(Point(place(w, x0, x1), place(h, y1, y0), 2.5 + 9 * math.sqrt(n / most),
                                  f"{h}×{w} (H×W): {n:,} image{'s' if n != 1 else ''}",
                                  None if not size else (h, w) == tuple(size)))
    for exp in range(low, high + 1):
        chart.ticks_x.append((place(2 ** exp, x0, x1), f"{2 ** exp:,}"))
        chart.ticks_y.append((place(2 ** exp, y1, y0), f"{2 ** exp:,}"))
    if size:
        chart.mark = (place(size[1], x0, x1), place(size[0], y1, y0), f"contract {size[0]}×{size[1]}")
    return chart


@dataclass
class Bar:
    label: str
    count: int
    y: float
    length: float
    expected: bool   # the contract's value (drawn in the accent colour)


@dataclass
class BarChart:
    title: str
    bars: list[Bar]
    width: int = BAR_WIDTH
    height: int = 0
    label_width: int = 56


def bar_chart(title: str, counts: dict[str, int], expected: Optional[str] = None) -> BarChart:
    """Horizontal bars, largest first (``counts`` as the summary gives them), at most :data:`MAX_BARS`."""
    items = list(counts.items())
    if len(items) > MAX_BARS:
        items = items[:MAX_BARS - 1] + [("other", sum(n for _, n in items[MAX_BARS - 1:]))]
    chart = BarChart(title, [])
    most = max((n for _, n in items), default=1) or 1
    room = chart.width - chart.label_width - 72  # the count is written after the bar
    for i, (label, n) in enumerate(items):
        chart.bars.append(Bar(label, n, 8 + 24 * i, max(1.0, room * n / most), label == expected))
    chart.height = 16 + 24 * len(items)
    return chart
