"""A shipment's cargo as analytics sees it: its readings frame and its validated temperature.

``shipment_readings`` turns the stored readings of the devices attached to a
shipment, each within its attachment period, into the canonical readings
frame of ``analytics.readings`` (plus each reading's ledger index), so that
the features, the quorum and scoring run on a shipment exactly as they run
on a CSV. ``validated_temperature`` is the oracle quorum over that frame.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from operator import itemgetter

import numpy as np
import pandas as pd
from django.db.models import BigIntegerField, Func, Q

from analytics.quorum import aligned_readings, quorum
from analytics.readings import COLUMNS, OPTIONAL_FLAGS
from coldchain.models import Contract, DeviceAttachment, Shipment
from devices.models import Device, Reading

# Read straight from the database, in this order (one tuple per reading),
# after the time as epoch milliseconds.
STORED_CHANNELS = (
    "temp_c",
    "ambient_c",
    "humidity_pct",
    "door_open",
    "reefer_on",
    "setpoint_c",
)
TIME_DTYPE = "datetime64[ms, UTC]"  # what analytics.readings.readings_frame gives
LEDGER_INDEX = "ledger_index"
FRAME_COLUMNS = (*COLUMNS, LEDGER_INDEX)
# Defaults of the feature function (analytics.features): the cargo a page
# shows is the cargo the models scored.
QUORUM_K = 2
QUORUM_TOLERANCE_C = 1.0
QUORUM_STEP_S = 60
QUORUM_MAX_AGE_S = 180.0


class EpochMilliseconds(Func):
    """A time as integer milliseconds since the epoch, computed by the database.

    Parsing 100,000 timestamps into Python datetimes took longer than the
    query itself; integers become a pandas time column at once. Readings are
    signed with millisecond times, so rounding loses nothing.
    """

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="ROUND(EXTRACT(EPOCH FROM %(expressions)s) * 1000)::bigint",
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400000) AS INTEGER)",
        )


def shipment_temperature_range(shipment: Shipment) -> tuple[float, float]:
    """The range (°C) the cargo must stay in: the contract's terms once the
    shipment has a contract (they may tighten it), else the product's
    labelled storage range. The one place that decides it."""
    terms = Contract.objects.filter(shipment=shipment).values_list("terms", flat=True).first()
    if terms is not None:
        return float(terms["temperature"]["min_c"]), float(terms["temperature"]["max_c"])
    return shipment.product.temp_min_c, shipment.product.temp_max_c


def cargo_loggers(shipment: Shipment) -> frozenset[str]:
    """The devices whose quorum is the cargo temperature: the independent loggers.

    The reefer controller's probe measures the air it blows, which leaves the
    range within minutes of a door opening while the cargo does not, and it
    belongs to the carrier whose performance the contract judges.
    """
    return frozenset(
        DeviceAttachment.objects.filter(
            shipment=shipment, device__kind=Device.Kind.INDEPENDENT_LOGGER
        ).values_list("device_id", flat=True)
    )


def device_periods(shipment: Shipment) -> list[Q]:
    """One condition per attached device, by device id: its readings within its
    attachment periods. Each is a range of the readings' (device, time) index
    (or a few, for a device attached more than once); an OR across devices
    makes PostgreSQL visit the table's rows (and their signatures) instead."""
    periods: dict[str, Q] = {}
    for device_id, start, end in (
        DeviceAttachment.objects.filter(shipment=shipment)
        .order_by("device_id", "attached_from")
        .values_list("device_id", "attached_from", "attached_until")
    ):
        period = Q(device_id=device_id, ts__gte=start)
        if end is not None:
            period &= Q(ts__lt=end)
        periods[device_id] = periods[device_id] | period if device_id in periods else period
    return list(periods.values())


def attachment_filter(shipment: Shipment) -> Q:
    """Readings of the shipment's devices, each within its attachment period.

    Nothing when no device is attached (an empty ``Q()`` would match every reading).
    """
    condition = Q(pk__in=[])
    for periods in device_periods(shipment):
        condition |= periods
    return condition


def shipment_readings(
    shipment: Shipment, *, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """The shipment's readings as a canonical readings frame, plus ``ledger_index``.

    Columns ``analytics.readings.COLUMNS`` (``shipment`` is the shipment's
    reference; ``temp_min``/``temp_max`` from ``shipment_temperature_range``)
    and ``ledger_index`` (nullable Int64: the reading's index in the log,
    missing while it waits for the sequencer). Only readings of attached
    devices within their attachment periods, ``since <= ts <= until`` when
    given; sorted by device and time as ``readings_frame`` sorts. One query,
    tuples rather than model instances: a long trip has 100,000+ readings.
    """
    readings = Reading.objects.filter(attachment_filter(shipment))
    if since is not None:
        readings = readings.filter(ts__gte=since)
    if until is not None:
        readings = readings.filter(ts__lte=until)
    rows = list(
        readings.annotate(ts_ms=EpochMilliseconds("ts"))
        .order_by("device_id", "ts")
        .values_list("device_id", "ts_ms", *STORED_CHANNELS, "ledger_entry__sealed__index")
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * (len(STORED_CHANNELS) + 3)
    temp_min, temp_max = shipment_temperature_range(shipment)
    frame = pd.DataFrame(
        {
            "shipment": pd.Series([shipment.reference] * len(rows), dtype="string"),
            "device": pd.Series(columns[0], dtype="string"),
            "ts": pd.to_datetime(
                np.asarray(columns[1], dtype=np.int64), unit="ms", utc=True
            ).astype(TIME_DTYPE),
        }
    )
    for offset, name in enumerate(STORED_CHANNELS, start=2):
        dtype = "boolean" if name in OPTIONAL_FLAGS else "float64"
        frame[name] = pd.Series(columns[offset], dtype=object).astype(dtype)
    frame["temp_min"] = np.float64(temp_min)
    frame["temp_max"] = np.float64(temp_max)
    frame[LEDGER_INDEX] = pd.Series(columns[-1], dtype=object).astype("Int64")
    return frame[list(FRAME_COLUMNS)]


def validated_temperature(
    readings: pd.DataFrame,
    *,
    k: int = QUORUM_K,
    tolerance_c: float = QUORUM_TOLERANCE_C,
    step_s: int = QUORUM_STEP_S,
    max_age_s: float = QUORUM_MAX_AGE_S,
) -> pd.DataFrame:
    """The oracle quorum over a readings frame: one row per shipment and grid step.

    Columns of ``analytics.quorum.STEP_COLUMNS`` (``shipment, t, validated_c,
    quorum, n_devices, n_agreeing, n_flagged, spread_c``) plus
    ``flagged_devices``: the sorted ids of the devices that disagree with the
    quorum at that step (an empty tuple when none). ``validated_c`` is missing
    where there is no quorum.
    """
    result = quorum(
        aligned_readings(readings, step_s=step_s, max_age_s=max_age_s), k=k, tolerance_c=tolerance_c
    )
    steps = result.steps.reset_index(drop=True)
    flagged = (
        steps[["shipment", "t"]]
        .reset_index(names="step")
        .merge(result.devices.loc[result.devices["flagged"], ["shipment", "t", "device"]])
        .sort_values(["step", "device"], kind="stable")
    )
    # Grouped in plain Python: a pandas aggregation per step took seconds on a 30-day trip.
    names: list[tuple[str, ...]] = [()] * len(steps)
    pairs = zip(flagged["step"].tolist(), flagged["device"].tolist(), strict=True)
    for step, group in itertools.groupby(pairs, key=itemgetter(0)):
        names[step] = tuple(device for _, device in group)
    steps["flagged_devices"] = names
    return steps
