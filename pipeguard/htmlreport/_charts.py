"""The page's charts as numbers for its SVG templates: a size scatter and bar charts.

Small SVG templates rather than a plotting library: two chart kinds, a few dozen
elements each, styled by the page's CSS (so they follow light and dark), with no
import cost and no fonts or IDs to embed. Geometry is computed here; drawing is in
``templates/charts.html.j2``.

Labels are placed so they cannot meet, whatever the font: a tick label's room is
measured with the widths of a wide UI font (DejaVu Sans at 11 px: 7 px a digit), the
axes label every power of two only while those labels fit between two ticks (else every
second, third, ...), and the scatter keeps half a power of two free at each end so no
circle reaches an axis or its labels. The contract's label sits above the plot, at the
top of its line, where no circle or tick label is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

MAX_POINTS = 300   # distinct sizes drawn (the most common); the caption counts the rest
MAX_BARS = 12      # bars drawn; the rest are summed into one "other" bar
WIDTH, HEIGHT = 400, 300      # the size scatter
BAR_WIDTH = 340
LEFT, BOTTOM, TOP, RIGHT = 56, 44, 32, 24
CHAR, NARROW = 7.0, 3.5  # px an 11 px character takes at most; a comma or full stop
LINE = 13          # px an 11 px label takes upright
GAP = 8            # px at least between two tick labels
TITLE_ROOM = 30    # px left of the y tick labels for the axis title ("height (px)", turned)


def text_width(label: str) -> float:
    """At most how wide ``label`` is drawn (11 px): a bound, not a measure."""
    return sum(NARROW if c in ",." else CHAR for c in label)


@dataclass
class Point:
    x: float
    y: float
    r: float
    label: str
    matches: Optional[bool]   # the contract's size? None when the contract sets none


@dataclass
class Mark:
    """The contract's size: its lines at ``x``, ``y``; its label at ``label_x`` above the plot."""

    x: float
    y: float
    label: str
    label_x: float
    anchor: str    # the label's text-anchor: "start" (right of the line) or "end" (left of it)


@dataclass
class SizeChart:
    """Images by height × width on log₂ axes, one circle per distinct size (area ~ count)."""

    points: list[Point] = field(default_factory=list)
    ticks_x: list[tuple[float, str]] = field(default_factory=list)  # (position, label or "")
    ticks_y: list[tuple[float, str]] = field(default_factory=list)
    mark: Optional[Mark] = None
    left_out: int = 0          # distinct sizes not drawn
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)


@dataclass
class _Scale:
    """A log₂ axis from 2**low to 2**high drawn from ``start`` to ``end`` (px), with half a
    power of two free at each end."""

    low: int
    high: int
    start: float
    end: float

    @property
    def per_power(self) -> float:
        return abs(self.end - self.start) / (self.high - self.low + 1)

    def at(self, value: float) -> float:
        share = (math.log2(max(1, value)) - self.low + 0.5) / (self.high - self.low + 1)
        return self.start + share * (self.end - self.start)

    def ticks(self, room: Callable[[str], float]) -> list[tuple[float, str]]:
        """A tick at each power of two, labelled when the labels fit (``room`` is a label's
        extent along the axis; :data:`GAP` is added): every one, else every second, third,
        ...; an unlabelled tick's label is ``""``."""
        exponents, labels = [self.low], [f"{2 ** self.low:,}"]
        for step in range(1, self.high - self.low + 2):
            first = -(-self.low // step) * step  # the powers at multiples of step: 16, 64, 256, ...
            exponents = list(range(first, self.high + 1, step)) or [self.low]
            labels = [f"{2 ** e:,}" for e in exponents]
            if self.per_power * step >= max(map(room, labels)) + GAP:
                break
        labelled = dict(zip(exponents, labels))
        return [(self.at(2 ** e), labelled.get(e, "")) for e in range(self.low, self.high + 1)]


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
    top, bottom = TOP, HEIGHT - BOTTOM
    ys = _Scale(low, high, bottom, top)
    chart.ticks_y = ys.ticks(lambda label: LINE)
    left = max(LEFT, TITLE_ROOM + max(text_width(label) for _, label in chart.ticks_y) + 6)
    xs = _Scale(low, high, left, WIDTH - RIGHT)
    chart.ticks_x = xs.ticks(text_width)
    chart.plot = (left, top, WIDTH - RIGHT, bottom)
    most = max(counts.values())
    for (h, w), n in counts.items():
        h, w, n = int(h), int(w), int(n)
        chart.points.append(Point(xs.at(w), ys.at(h), 2.5 + 9 * math.sqrt(n / most),
                                  f"{h}×{w} (H×W): {n:,} image{'s' if n != 1 else ''}",
                                  None if not size else (h, w) == tuple(size)))
    if size:
        chart.mark = _mark(xs.at(size[1]), ys.at(size[0]), f"contract {size[0]}×{size[1]}")
    return chart


def _mark(x: float, y: float, label: str) -> Mark:
    """The contract's lines and label: the label right of its line's top, or left of it
    when it would run off the chart."""
    if x + 4 + text_width(label) <= WIDTH - 2:
        return Mark(x, y, label, x + 4, "start")
    return Mark(x, y, label, x - 4, "end")


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
