"""Temperature charts for shipment reports, drawn with reportlab's own graphics.

Long shipments are reduced on the server before drawing: each line keeps, per
horizontal slot of the chart, the reading with the lowest and the one with the
highest value, so peaks and excursions stay visible while a 100,000-reading
trip draws a few thousand points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors

from coldchain.excursions import Excursion

# Slots across the plot: about one per point of its width.
SLOTS = 450
# A line is broken where two kept points are further apart than this (or than
# a few slots, on long trips), rather than drawn across a data gap.
BREAK_AFTER = timedelta(minutes=5)
FONT = "Helvetica"
RANGE_FILL = colors.Color(0.82, 0.93, 0.82)
BAND_FILL = colors.Color(0.97, 0.95, 0.85)
EXCURSION_FILL = {"high": colors.Color(0.9, 0.2, 0.2), "low": colors.Color(0.2, 0.35, 0.9)}
EXCURSION_OPACITY = 0.18
PALETTE = (
    colors.Color(0.12, 0.47, 0.71),
    colors.Color(1.0, 0.5, 0.05),
    colors.Color(0.58, 0.4, 0.74),
    colors.Color(0.09, 0.75, 0.81),
    colors.Color(0.55, 0.34, 0.29),
    colors.Color(0.89, 0.47, 0.76),
    colors.Color(0.74, 0.74, 0.13),
    colors.Color(0.5, 0.5, 0.5),
)
VALIDATED_COLOR = colors.black
_TIME_STEPS = tuple(
    timedelta(minutes=m) for m in (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
)
_TEMP_STEPS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
_NS = 1_000_000_000


@dataclass(frozen=True)
class ChartLine:
    label: str
    times: np.ndarray  # int64 ns since the epoch, ascending
    values: np.ndarray  # °C, NaN where there is none
    color: colors.Color
    width: float = 0.8


def line_from_series(series: pd.Series, *, label: str, color, width: float = 0.8) -> ChartLine:
    index = pd.DatetimeIndex(series.index).tz_convert("UTC").as_unit("ns")
    return ChartLine(label, index.asi8, series.to_numpy("float64"), color, width)


def reduced(
    times: np.ndarray, values: np.ndarray, *, start_ns: int, end_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """The readings with the lowest and the highest value of each slot, in time order;
    every reading when there are no more than two a slot."""
    keep = np.isfinite(values)
    times, values = times[keep], values[keep]
    if times.size <= 2 * SLOTS:
        return times, values
    slot = np.clip((times - start_ns) * SLOTS // max(end_ns - start_ns, 1), 0, SLOTS - 1)
    grouped = pd.Series(values).groupby(slot)
    picked = np.unique(np.concatenate([grouped.idxmin().to_numpy(), grouped.idxmax().to_numpy()]))
    return times[picked], values[picked]


def temperature_chart(
    lines: Sequence[ChartLine],
    *,
    start: datetime,
    end: datetime,
    range_c: tuple[float, float],
    band_c: tuple[float, float],
    excursions: Sequence[Excursion] = (),
    width: float = 480.0,
    height: float = 200.0,
) -> Drawing:
    """Lines over time, the last on top, on the range (shaded green) and the
    excursion band (shaded sand), with excursions shaded red (high) or blue (low)."""
    start_ns, end_ns = _ns(start), max(_ns(end), _ns(start) + 60 * _NS)
    kept = [
        (line, *reduced(line.times, line.values, start_ns=start_ns, end_ns=end_ns))
        for line in lines
    ]
    low_c, high_c = _temperature_span(range_c, [values for _, _, values in kept])
    plot = _Plot(
        left=38.0,
        bottom=34.0,
        right=width - 8.0,
        top=height - 8.0,
        start_ns=start_ns,
        end_ns=end_ns,
        low_c=low_c,
        high_c=high_c,
    )
    drawing = Drawing(width, height)
    _add_shading(drawing, plot, range_c=range_c, band_c=band_c, excursions=excursions)
    _add_axes(drawing, plot)
    gap_ns = max(int(BREAK_AFTER.total_seconds() * _NS), 3 * (end_ns - start_ns) // SLOTS)
    for line, times, values in kept:
        _add_line(drawing, plot, line, times, values, gap_ns=gap_ns)
    _add_legend(drawing, lines, plot)
    return drawing


@dataclass(frozen=True)
class _Plot:
    left: float
    bottom: float
    right: float
    top: float
    start_ns: int
    end_ns: int
    low_c: float
    high_c: float

    def x(self, ns: int) -> float:
        share = (int(ns) - self.start_ns) / (self.end_ns - self.start_ns)
        return round(self.left + share * (self.right - self.left), 2)

    def y(self, celsius: float) -> float:
        share = (float(celsius) - self.low_c) / (self.high_c - self.low_c)
        return round(self.bottom + share * (self.top - self.bottom), 2)


def _ns(moment: datetime) -> int:
    return pd.Timestamp(moment).as_unit("ns").value


def _temperature_span(
    range_c: tuple[float, float], values: list[np.ndarray]
) -> tuple[float, float]:
    """The range and every drawn value, with a degree to spare, on whole ticks."""
    finite = [v for v in values if v.size]
    low = min([range_c[0], *(float(v.min()) for v in finite)]) - 1.0
    high = max([range_c[1], *(float(v.max()) for v in finite)]) + 1.0
    step = _temperature_step(low, high)
    return float(np.floor(low / step) * step), float(np.ceil(high / step) * step)


def _temperature_step(low: float, high: float) -> float:
    return next((s for s in _TEMP_STEPS if (high - low) / s <= 8), _TEMP_STEPS[-1])


def _add_shading(
    drawing: Drawing,
    plot: _Plot,
    *,
    range_c: tuple[float, float],
    band_c: tuple[float, float],
    excursions: Sequence[Excursion],
) -> None:
    def band(bottom: float, top: float, **style) -> Rect:
        return Rect(
            plot.left, bottom, plot.right - plot.left, top - bottom, strokeColor=None, **style
        )

    drawing.add(band(plot.bottom, plot.top, fillColor=colors.white))
    for (low, high), fill in ((band_c, BAND_FILL), (range_c, RANGE_FILL)):
        bottom, top = plot.y(max(low, plot.low_c)), plot.y(min(high, plot.high_c))
        if top > bottom:
            drawing.add(band(bottom, top, fillColor=fill))
    for x0, x1, direction in _excursion_spans(excursions, plot):
        drawing.add(
            Rect(
                x0,
                plot.bottom,
                x1 - x0,
                plot.top - plot.bottom,
                fillColor=EXCURSION_FILL[direction],
                fillOpacity=EXCURSION_OPACITY,
                strokeColor=None,
            )
        )


def _add_line(
    drawing: Drawing,
    plot: _Plot,
    line: ChartLine,
    times: np.ndarray,
    values: np.ndarray,
    *,
    gap_ns: int,
) -> None:
    for run in _runs(times, gap_ns):
        points = [c for i in run for c in (plot.x(times[i]), plot.y(values[i]))]
        if len(run) == 1:
            points += [points[0] + 0.6, points[1]]  # a lone reading shows as a dash
        drawing.add(
            PolyLine(points, strokeColor=line.color, strokeWidth=line.width, strokeLineJoin=1)
        )


def _add_axes(drawing: Drawing, plot: _Plot) -> None:
    grey = colors.Color(0.6, 0.6, 0.6)
    step = _temperature_step(plot.low_c, plot.high_c)
    for tick in np.arange(plot.low_c, plot.high_c + step / 2, step):
        y = plot.y(tick)
        drawing.add(Line(plot.left, y, plot.right, y, strokeColor=grey, strokeWidth=0.2))
        drawing.add(
            String(plot.left - 3, y - 2.5, f"{tick:g}", fontName=FONT, fontSize=7, textAnchor="end")
        )
    drawing.add(String(4, plot.top + 1, "°C", fontName=FONT, fontSize=7))
    span = timedelta(seconds=(plot.end_ns - plot.start_ns) / _NS)
    every = next((s for s in _TIME_STEPS if span / s <= 6), _TIME_STEPS[-1])
    every_ns = int(every.total_seconds()) * _NS
    label = "%d %b" if every >= timedelta(days=1) else "%d %b %H:%M"
    first = -(-plot.start_ns // every_ns) * every_ns
    for tick in range(first, plot.end_ns + 1, every_ns):
        x = plot.x(tick)
        drawing.add(Line(x, plot.bottom, x, plot.bottom - 3, strokeColor=grey, strokeWidth=0.5))
        text = datetime.fromtimestamp(tick // _NS, UTC).strftime(label)
        drawing.add(
            String(x, plot.bottom - 11, text, fontName=FONT, fontSize=7, textAnchor="middle")
        )
    drawing.add(
        Rect(
            plot.left,
            plot.bottom,
            plot.right - plot.left,
            plot.top - plot.bottom,
            fillColor=None,
            strokeColor=grey,
            strokeWidth=0.5,
        )
    )


def _excursion_spans(
    excursions: Sequence[Excursion], plot: _Plot
) -> list[tuple[float, float, str]]:
    """One shaded span per excursion, merged with the next of the same side when
    they would touch on the page (a noisy trip can have thousands)."""
    spans: list[tuple[float, float, str]] = []
    for excursion in excursions:
        x0 = plot.x(_ns(excursion.start))
        x1 = max(plot.x(_ns(excursion.end)), x0 + 0.5)
        if spans and spans[-1][2] == excursion.direction and x0 - spans[-1][1] < 0.5:
            spans[-1] = (spans[-1][0], x1, excursion.direction)
        else:
            spans.append((x0, x1, excursion.direction))
    return spans


def _runs(times: np.ndarray, gap_ns: int) -> list[np.ndarray]:
    if times.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(times) > gap_ns) + 1
    return np.split(np.arange(times.size), breaks)


def _add_legend(drawing: Drawing, lines: Sequence[ChartLine], plot: _Plot) -> None:
    x = plot.left
    for line in lines:
        drawing.add(Line(x, 6, x + 14, 6, strokeColor=line.color, strokeWidth=max(line.width, 1.2)))
        drawing.add(String(x + 17, 3.5, line.label, fontName=FONT, fontSize=7))
        x += 24 + 3.6 * len(line.label)
