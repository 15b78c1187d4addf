"""The facts a contract is evaluated on, gathered from stored data as of one log size.

Only what the log already holds counts: readings and assessments sealed below
``log_size`` (the tree size of the latest checkpoint when the facts were
gathered). So every fact rests on entries with ledger indices, and gathering
again with the same ``log_size`` and ``now`` gives the same facts, unless the
stored data changed: that is how a claim's facts are re-checked
(``contract_facts_recheck`` in :mod:`coldchain.contracts`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import OuterRef, Subquery

from analytics.models import ModelVersion
from coldchain.cargo import (
    LEDGER_INDEX,
    QUORUM_MAX_AGE_S,
    TIME_DTYPE,
    EpochMilliseconds,
    cargo_loggers,
    device_periods,
    validated_temperature,
)
from coldchain.excursions import ExcursionSummary, excursion_summary, rfc3339
from coldchain.models import Assessment, Shipment
from devices.models import Reading
from ledger.models import LogIndex

FACTS_FORMAT = 1
# A grid instant takes each device's latest reading up to this old, so an
# excursion rests on readings from this long before it.
READING_MAX_AGE = timedelta(seconds=QUORUM_MAX_AGE_S)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment)


def sealed_readings(shipment: Shipment, *, until: datetime, log_size: int) -> pd.DataFrame:
    """The shipment's readings up to ``until`` sealed below ``log_size``, sorted
    by device and time, with the columns the excursion accounting, the facts
    and the report use, as in the ``coldchain.cargo`` readings frame:
    ``shipment, device, ts, temp_c, ledger_index``.

    One query per device (``coldchain.cargo.device_periods``), each a range of
    the readings' (device, time) index, which also holds the temperature and
    the ledger entry: a 30-day trip's 130,000 readings come without visiting
    the table's rows (their signatures), and each reading's log index is one
    lookup.
    """
    log_index = LogIndex.objects.filter(entry_id=OuterRef("ledger_entry_id")).values("index")
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for periods in device_periods(shipment):
            device_readings = (
                Reading.objects.filter(periods, ts__lte=until)
                .annotate(ts_ms=EpochMilliseconds("ts"), log_index=Subquery(log_index))
                .order_by("ts")
                .values_list("device_id", "ts_ms", "temp_c", "log_index")
            )
            # The query's own cursor: Django's per-row conversion of the two
            # computed integers cost more than the query at 100,000 rows.
            cursor.execute(*device_readings.query.sql_with_params())
            rows += cursor.fetchall()
    columns = ["device", "ts", "temp_c", LEDGER_INDEX]
    frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
    frame = pd.DataFrame(
        {
            "shipment": pd.Series([shipment.reference] * len(frame), dtype="string"),
            "device": frame["device"].astype("string"),
            "ts": pd.to_datetime(frame["ts"].to_numpy(np.int64), unit="ms", utc=True).astype(
                TIME_DTYPE
            ),
            "temp_c": frame["temp_c"].astype("float64"),
            LEDGER_INDEX: frame[LEDGER_INDEX].astype("Int64"),
        }
    )
    sealed = (frame[LEDGER_INDEX] < log_size).fillna(False).astype(bool)
    return frame[sealed].reset_index(drop=True)


def validated_series(readings: pd.DataFrame, *, k: int, tolerance_c: float) -> pd.Series:
    """The oracle quorum's cargo temperature on its grid (NaN: no quorum)."""
    if readings.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
    steps = validated_temperature(readings, k=k, tolerance_c=tolerance_c)
    return steps.set_index("t")["validated_c"]


def cargo_summary(
    shipment: Shipment, readings: pd.DataFrame, terms: dict, *, loaded_at: datetime
) -> tuple[pd.Series, ExcursionSummary]:
    """The validated cargo temperature (the loggers' quorum, per the terms) and its
    excursion accounting after the adaptation period: what contracts and reports show."""
    loggers = readings[readings["device"].isin(cargo_loggers(shipment))]
    validated = validated_series(loggers, **terms["quorum"])
    temperature = terms["temperature"]
    return validated, excursion_summary(
        validated,
        temp_min_c=temperature["min_c"],
        temp_max_c=temperature["max_c"],
        band_min_c=temperature["band_min_c"],
        band_max_c=temperature["band_max_c"],
        ignore_before=loaded_at + timedelta(minutes=terms["excursions"]["adaptation_min"]),
    )


def _indices(readings: pd.DataFrame, start: datetime, end: datetime) -> list[int]:
    window = readings[(readings["ts"] >= start - READING_MAX_AGE) & (readings["ts"] < end)]
    return sorted(int(index) for index in window["ledger_index"])


def _model(version: ModelVersion) -> dict:
    return {
        "task": version.task,
        "version": version.version,
        "artifact_sha256": version.artifact_sha256,
    }


def _assessments(shipment: Shipment, *, now: datetime, log_size: int) -> list[dict]:
    rows = (
        Assessment.objects.filter(
            shipment=shipment,
            evaluated_at__lte=now,
            ledger_entry__sealed__index__lt=log_size,
        )
        .select_related("breach_model", "breach_soon_model", "ledger_entry__sealed")
        .order_by("evaluated_at")
    )
    return [
        {
            "evaluated_at": rfc3339(row.evaluated_at),
            "flag": row.flag,
            "ledger_index": row.ledger_entry.sealed.index,
            "reading_indices": sorted(row.reading_indices),
            "breach_model": _model(row.breach_model),
            "breach_soon_model": _model(row.breach_soon_model),
        }
        for row in rows
    ]


def _release(shipment: Shipment, now: datetime) -> dict | None:
    signature = getattr(shipment, "release_signature", None)
    if signature is None or signature.signed_at > now:
        return None
    return {
        "decision": signature.decision,
        "fraction": str(signature.released_fraction),
        "signed_at": rfc3339(signature.signed_at),
    }


def departed_at(shipment: Shipment) -> datetime | None:
    """When the shipment went in transit, as its recorded transition says."""
    return (
        shipment.transitions.filter(to_status=Shipment.Status.IN_TRANSIT)
        .order_by("id")
        .values_list("at", flat=True)
        .first()
    )


def contract_facts(shipment: Shipment, terms: dict, *, now: datetime, log_size: int) -> dict:
    """The engine's facts for ``shipment`` at ``now``, from entries below ``log_size``."""
    departed = departed_at(shipment)
    departed = departed if departed is not None and departed <= now else None
    delivered = shipment.delivered_at
    delivered = delivered if delivered is not None and delivered <= now else None
    until = delivered or now
    readings = sealed_readings(shipment, until=until, log_size=log_size)
    summary = None
    excursion_readings: list[list[int]] = []
    if not readings.empty:
        _, summary = cargo_summary(
            shipment, readings, terms, loaded_at=departed or shipment.departure_at
        )
        excursion_readings = [
            _indices(readings, excursion.start, excursion.end) for excursion in summary.excursions
        ]
    return {
        "format": FACTS_FORMAT,
        "shipment": shipment.reference,
        "now": rfc3339(now),
        "log_size": log_size,
        "departed_at": _time(departed),
        "delivered_at": _time(delivered),
        "deadline_at": _time(shipment.deadline_at),
        "excursions": None if summary is None else summary.as_facts(),
        "excursion_reading_indices": excursion_readings,
        "reading_indices": sorted(int(index) for index in readings["ledger_index"]),
        "assessments": _assessments(shipment, now=now, log_size=log_size),
        "release": _release(shipment, now),
    }
