"""Readings over a time range, downsampled in the database to a bounded number of points.

A chart of a week at one reading a minute is 10,000 rows per device; the
database groups them into ``max_points`` equal time buckets and returns one
row per non-empty bucket (count, mean, min, max), so the answer's size does
not grow with the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, FloatField, Func, Max, Min, QuerySet, Value
from django.db.models.functions import Floor, Least

from devices.models import Reading


class EpochSeconds(Func):
    """A timestamp column as seconds since 1970 (float), on PostgreSQL and SQLite."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)"

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::double precision",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite keeps datetimes as UTC text; julianday() reads it in days.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


@dataclass(frozen=True)
class SeriesPoint:
    start: datetime
    count: int
    mean_c: float
    min_c: float
    max_c: float


def reading_series(
    readings: QuerySet[Reading], start: datetime, end: datetime, max_points: int
) -> tuple[timedelta, list[SeriesPoint]]:
    """Bucket width and the non-empty buckets of ``readings`` in ``[start, end)``."""
    width_s = (end - start).total_seconds() / max_points
    offset = (EpochSeconds("ts") - Value(start.timestamp())) / Value(width_s)
    # Rounding can put a reading just before ``end`` one bucket too far.
    bucket = Least(Floor(offset), Value(float(max_points - 1)))
    rows = (
        readings.filter(ts__gte=start, ts__lt=end)
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(count=Count("id"), mean=Avg("temp_c"), low=Min("temp_c"), high=Max("temp_c"))
        .order_by("bucket")
    )
    width = timedelta(seconds=width_s)
    points = [
        SeriesPoint(
            start=start + width * int(row["bucket"]),
            count=row["count"],
            mean_c=row["mean"],
            min_c=row["low"],
            max_c=row["high"],
        )
        for row in rows
    ]
    return width, points
