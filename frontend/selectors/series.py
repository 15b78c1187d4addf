"""The shipment chart's data, downsampled in the database.

A shipment of a few days has 100,000+ readings; the chart needs a few hundred
points per device. The time span is cut into ``buckets`` equal intervals and
the database returns, per device and interval, the lowest and highest
temperature and whether a door was open or the reefer off: extremes survive
downsampling (a short excursion stays visible), averages would hide them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from operator import itemgetter

from django.db import connection
from django.db.models import Avg, Case, IntegerField, Max, Min, Q, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from coldchain.cargo import device_periods
from coldchain.models import Assessment, Shipment
from devices.models import Reading

DEFAULT_BUCKETS = 600
MIN_SPAN = timedelta(hours=1)

# Seconds since the epoch of a datetime column, per database: PostgreSQL's
# EXTRACT, else SQLite's julianday (Django stores UTC text there).
EPOCH_SQL = {
    "postgresql": "EXTRACT(EPOCH FROM {column})",
    "sqlite": "((julianday({column}) - 2440587.5) * 86400.0)",
}
# Whole buckets: FLOOR where the database has it; SQLite truncates, which is
# the same for the non-negative offsets the filters guarantee.
BUCKET_SQL = {
    "postgresql": "FLOOR(({epoch} - %s) / %s)",
    "sqlite": "CAST((({epoch}) - %s) / %s AS INTEGER)",
}


def _bucket(column: str, start: datetime, width_s: float) -> RawSQL:
    vendor = connection.vendor
    epoch = EPOCH_SQL[vendor].format(column=column)
    return RawSQL(
        BUCKET_SQL[vendor].format(epoch=epoch),
        (start.timestamp(), width_s),
        output_field=IntegerField(),
    )


def _flag(condition: Q) -> Max:
    return Max(Case(When(condition, then=1), default=0, output_field=IntegerField()))


def _latest_reading_time(shipment: Shipment) -> datetime | None:
    """One index lookup per device (see ``coldchain.cargo.device_periods``)."""
    times = [
        Reading.objects.filter(periods).aggregate(last=Max("ts"))["last"]
        for periods in device_periods(shipment)
    ]
    return max((time for time in times if time is not None), default=None)


def chart_span(shipment: Shipment) -> tuple[datetime, datetime]:
    """From departure to the latest reading (at least an hour; never past delivery)."""
    start = shipment.departure_at
    last = _latest_reading_time(shipment)
    end = max(last or start, start + MIN_SPAN)
    if last is not None:
        end += timedelta(seconds=1)  # the latest reading inside the last bucket
    if shipment.delivered_at is not None:
        end = min(end, max(shipment.delivered_at, start + MIN_SPAN))
    return start, end


def shipment_series(shipment: Shipment, *, buckets: int = DEFAULT_BUCKETS) -> dict:
    """Chart data: the time span, bucket start times, per device min/max, validated
    temperature, door and reefer events, breach-soon warnings, the product's
    range and excursion band.

    Lists under ``devices`` and ``validated`` line up with ``x`` (None where a
    bucket has no value), the layout uPlot draws directly.
    """
    start, end = chart_span(shipment)
    width_s = (end - start).total_seconds() / buckets
    # One query per device: each reads a range of the (device, time) index
    # that holds the temperature, door and reefer, not the table's rows.
    rows = [
        row
        for periods in device_periods(shipment)
        for row in Reading.objects.filter(periods, ts__gte=start, ts__lt=end)
        .annotate(bucket=_bucket('"devices_reading"."ts"', start, width_s))
        .values("device_id", "bucket")
        .annotate(
            low=Min("temp_c"),
            high=Max("temp_c"),
            door_open=_flag(Q(door_open=True)),
            reefer_off=_flag(Q(reefer_on=False)),
        )
    ]
    rows.sort(key=itemgetter("bucket", "device_id"))
    assessed = (
        shipment.assessments.filter(evaluated_at__gte=start, evaluated_at__lt=end)
        .annotate(bucket=_bucket('"coldchain_assessment"."evaluated_at"', start, width_s))
        .values("bucket")
        .annotate(value=Avg("validated_c"), breach_soon=_flag(Q(flag=Assessment.Flag.BREACH_SOON)))
    )
    return _layout(shipment, rows, list(assessed), start, width_s) | {
        "span": [start.timestamp(), end.timestamp()]
    }


def _layout(
    shipment: Shipment, rows: list[dict], assessed: list[dict], start: datetime, width_s: float
) -> dict:
    bucket_ids = sorted({row["bucket"] for row in rows} | {row["bucket"] for row in assessed})
    position = {bucket: i for i, bucket in enumerate(bucket_ids)}
    devices: dict[str, dict] = {}
    door, reefer_off = set(), set()
    for row in rows:
        series = devices.setdefault(
            row["device_id"],
            {
                "id": row["device_id"],
                "min": [None] * len(bucket_ids),
                "max": [None] * len(bucket_ids),
            },
        )
        series["min"][position[row["bucket"]]] = row["low"]
        series["max"][position[row["bucket"]]] = row["high"]
        if row["door_open"]:
            door.add(row["bucket"])
        if row["reefer_off"]:
            reefer_off.add(row["bucket"])
    validated_line = [None] * len(bucket_ids)
    for row in assessed:
        if row["value"] is not None:
            validated_line[position[row["bucket"]]] = round(row["value"], 3)
    product = shipment.product
    x = [start.timestamp() + bucket * width_s for bucket in bucket_ids]
    return {
        "x": x,
        "bucket_seconds": width_s,
        "devices": list(devices.values()),
        "validated": validated_line,
        "door_open": [x[position[b]] for b in sorted(door)],
        "reefer_off": [x[position[b]] for b in sorted(reefer_off)],
        "breach_soon": [x[position[row["bucket"]]] for row in assessed if row["breach_soon"]],
        "excursions": _excursions(x, width_s, devices, validated_line, product),
        "range": {"min": product.temp_min_c, "max": product.temp_max_c},
        "excursion_band": {"min": product.excursion_min_c, "max": product.excursion_max_c},
        "generated_at": timezone.now().isoformat(),
    }


def _excursions(
    x: list[float], width_s: float, devices: dict[str, dict], validated: list, product
) -> list[list[float]]:
    """Intervals [from, to] (epoch seconds) where the cargo left its range.

    Judged on the validated temperature where the shipment has been assessed
    (each assessment holds until the next one); before that on the raw probes
    (any device out of range).
    """
    low, high = product.temp_min_c, product.temp_max_c
    assessed = any(value is not None for value in validated)
    held = None
    intervals: list[list[float]] = []
    for i, t in enumerate(x):
        if assessed:
            held = validated[i] if validated[i] is not None else held
            outside = held is not None and not low <= held <= high
        else:
            outside = any(
                (s["min"][i] is not None and s["min"][i] < low)
                or (s["max"][i] is not None and s["max"][i] > high)
                for s in devices.values()
            )
        if not outside:
            continue
        if intervals and intervals[-1][1] >= t - 1e-6:  # the previous bucket
            intervals[-1][1] = t + width_s
        else:
            intervals.append([t, t + width_s])
    return intervals
