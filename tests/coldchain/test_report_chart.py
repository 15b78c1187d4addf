"""Report charts: long trips reduced without losing their extremes, gaps and excursions shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from reportlab.graphics.shapes import PolyLine, Rect
from reportlab.lib import colors

from coldchain.excursions import Excursion
from coldchain.report_chart import SLOTS, line_from_series, reduced, temperature_chart

T0 = datetime(2026, 1, 5, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def minutes_series(values, *, first_minute=0):
    index = pd.date_range(T0 + first_minute * MINUTE, periods=len(values), freq="1min", tz="UTC")
    return pd.Series(values, index=index, dtype="float64")


def chart(series_list, *, excursions=()):
    lines = [
        line_from_series(s, label=f"d{n}", color=colors.blue) for n, s in enumerate(series_list)
    ]
    start = min(s.index[0] for s in series_list).to_pydatetime()
    end = max(s.index[-1] for s in series_list).to_pydatetime()
    return temperature_chart(
        lines, start=start, end=end, range_c=(2.0, 8.0), band_c=(0.0, 12.0), excursions=excursions
    )


def excursion(start_minute, end_minute, direction="high"):
    return Excursion(
        start=T0 + start_minute * MINUTE,
        end=T0 + end_minute * MINUTE,
        minutes=float(end_minute - start_minute),
        direction=direction,
        peak_c=9.0,
        within_band=True,
        unvalidated_minutes=0.0,
    )


def test_a_short_line_keeps_every_reading():
    line = line_from_series(minutes_series([5.0, 6.0, 7.0]), label="d", color=colors.blue)
    _, values = reduced(line.times, line.values, start_ns=line.times[0], end_ns=line.times[-1])
    assert values.tolist() == [5.0, 6.0, 7.0]


def test_a_long_line_keeps_its_extremes_in_time_order():
    rng = np.random.default_rng(3)
    values = rng.normal(5.0, 0.2, 100_000)
    values[12_345], values[67_890] = 11.5, -0.5
    line = line_from_series(minutes_series(values), label="d", color=colors.blue)
    times, kept = reduced(line.times, line.values, start_ns=line.times[0], end_ns=line.times[-1])
    assert len(kept) <= 2 * SLOTS
    assert (kept.max(), kept.min()) == (11.5, -0.5)
    assert (np.diff(times) > 0).all()


def test_missing_values_are_not_drawn():
    line = line_from_series(minutes_series([5.0, np.nan, 7.0]), label="d", color=colors.blue)
    _, values = reduced(line.times, line.values, start_ns=line.times[0], end_ns=line.times[-1])
    assert values.tolist() == [5.0, 7.0]


def test_a_line_is_broken_across_a_data_gap():
    # Readings for minutes 0-10 and 60-70: two pieces, not one line across the gap.
    before, after = minutes_series([5.0] * 11), minutes_series([5.0] * 11, first_minute=60)
    drawing = chart([pd.concat([before, after])])
    assert sum(isinstance(shape, PolyLine) for shape in drawing.contents) == 2


def shaded_excursions(drawing):
    return [s for s in drawing.contents if isinstance(s, Rect) and s.fillOpacity not in (None, 1)]


def test_each_excursion_is_shaded():
    drawing = chart(
        [minutes_series([5.0] * 600)], excursions=[excursion(60, 90), excursion(300, 310)]
    )
    assert len(shaded_excursions(drawing)) == 2


def test_excursions_that_touch_on_the_page_are_shaded_once():
    # A month of one-minute excursions every other minute: far narrower than a point.
    month = 30 * 1440
    many = [excursion(m, m + 1) for m in range(0, month, 2)]
    drawing = chart([minutes_series([5.0] * month)], excursions=many)
    assert len(shaded_excursions(drawing)) == 1
