"""Geometry of the pages' two small charts, drawn as inline SVG by the templates.

No JavaScript and no inline style (the pages' CSP forbids both): sizes are SVG attributes,
colours DSFR variables in ``vigie.css``. Each chart sits beside a table of the same figures,
its text alternative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from features import french
from serving.api.schemas import HistoryPoint, Reason

BAR_WIDTH = 100.0  # the longest bar, in the chart's user units (percent of the plotting width)


@dataclass(frozen=True)
class Bar:
    """One reason's bar on the pupil's page, drawn in server-side SVG (no script)."""

    signal: str
    text: str
    length: float  # 0..BAR_WIDTH, proportional to the contribution
    weight: str  # relative weight, in words (« 100 % » for the strongest reason)


def reason_bars(reasons: list[Reason]) -> list[Bar]:
    """One bar per reason, the strongest at full length; a reason that lowers the risk has none."""
    strongest = max((r.contribution for r in reasons), default=0.0)
    bars = []
    for reason in reasons:
        share = max(reason.contribution, 0.0) / strongest if strongest > 0 else 0.0
        bars.append(Bar(reason.signal, reason.text, round(BAR_WIDTH * share, 1), french.percent(share)))
    return bars


@dataclass(frozen=True)
class Point:
    """One batch's risk on the pupil's line chart."""

    x: float
    y: float
    day: date
    label: str  # « 12 % le 15/12/2024 »


@dataclass(frozen=True)
class LineChart:
    """The pupil's risk over batches as server-side SVG: its points, polyline and axis ticks."""

    width: int
    height: int
    points: list[Point]
    path: str  # the polyline's points attribute
    ticks: list[tuple[float, str]]  # y positions and labels of the risk axis
    top: float  # the risk at the top of the axis


def risk_line(history: list[HistoryPoint], width: int = 480, height: int = 160, margin: int = 40) -> LineChart:
    """The risk over past batches, on an axis from 0 to a round value above the highest risk."""
    highest = max((p.risk for p in history), default=0.0)
    top = next(t for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0) if t >= highest)
    inner_w, inner_h = width - 2 * margin, height - 2 * (margin // 2)
    step = inner_w / max(len(history) - 1, 1)
    points = []
    for i, item in enumerate(history):
        x = margin + (i * step if len(history) > 1 else inner_w / 2)
        y = margin // 2 + inner_h * (1 - item.risk / top)
        label = f"{french.percent(item.risk)} le {french.day(item.as_of)}"
        points.append(Point(round(x, 1), round(y, 1), item.as_of, label))
    ticks = [(round(margin // 2 + inner_h * (1 - f), 1), french.percent(top * f)) for f in (0.0, 0.5, 1.0)]
    return LineChart(width, height, points, " ".join(f"{p.x},{p.y}" for p in points), ticks, top)
