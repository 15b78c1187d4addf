"""What a shipment report shows, gathered from the database into plain values.

Rendering (``coldchain.report``) works on ``ReportData`` only, so the same data
always gives the same PDF and long shipments can be rendered without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from django.db.models import Q

from analytics.quorum import aligned_readings, quorum
from coldchain.excursions import ExcursionSummary, excursion_summary
from coldchain.models import Alert, Shipment
from devices.models import Device, Reading
from ledger.models import Checkpoint
from ledger.services import checkpoint_latest, checkpoint_with_cosignatures

# The analytics defaults (analytics.features.features): a 1-minute grid, a
# reading counts for 3 minutes, and 2 loggers within 1 °C make a quorum.
GRID_STEP_S = 60
READING_MAX_AGE_S = 180.0
QUORUM_K = 2
QUORUM_TOLERANCE_C = 1.0


@dataclass(frozen=True)
class Header:
    reference: str
    product: str
    temp_min_c: float
    temp_max_c: float
    band_min_c: float
    band_max_c: float
    parties: tuple[tuple[str, str], ...]  # (role, name), in a fixed role order
    origin: str
    destination: str
    departure_at: datetime
    deadline_at: datetime
    delivered_at: datetime | None
    status: str


@dataclass(frozen=True)
class Allowances:
    """The product's excursion allowances, shown next to the measured figures."""

    max_single_excursion_min: float
    max_cumulative_excursion_min: float
    mkt_limit_c: float | None


@dataclass(frozen=True)
class AlertRow:
    kind: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    models: str  # the versions of the models of the assessment that opened it
    factors: tuple[str, ...]  # its top factors, in plain words


@dataclass(frozen=True)
class CheckpointInfo:
    size: int
    root_hash: bytes
    signed_note: str  # with the witnesses' cosignature lines


@dataclass(frozen=True)
class ContractActionRow:
    kind: str
    at: datetime
    description: str
    ledger_index: int | None


@dataclass(frozen=True)
class ReleaseRow:
    decision: str
    signer: str
    meaning: str
    signed_at: datetime
    reason: str
    ledger_index: int | None


@dataclass(frozen=True)
class ReportData:
    header: Header
    allowances: Allowances
    readings: pd.DataFrame  # device, ts, temp_c: the readings inside the checkpoint's tree
    readings_pending: int  # received for the shipment but not yet in a checkpoint
    validated: pd.Series  # the quorum's cargo temperature on the grid, NaN without quorum
    summary: ExcursionSummary
    alerts: tuple[AlertRow, ...]
    checkpoint: CheckpointInfo | None
    quorum_devices: tuple[str, ...]  # the loggers whose quorum gave ``validated``
    contract_actions: tuple[ContractActionRow, ...] = ()
    release: ReleaseRow | None = None


def report_data(shipment: Shipment) -> ReportData:
    """Everything the shipment's report shows, from its devices' readings within
    their attachment periods (up to delivery) that the latest checkpoint proves.

    Readings received after that checkpoint wait for the next one: so every
    figure rests on readings the named checkpoint proves, and the report does
    not change until the log grows.
    """
    product = shipment.product
    checkpoint = checkpoint_latest()
    periods = _attachment_periods(shipment)
    proven = (
        periods & Q(ledger_entry__sealed__index__lt=checkpoint.size)
        if checkpoint is not None
        else Q(pk__in=[])
    )
    readings = _readings(proven)
    loggers = tuple(
        Device.objects.filter(
            pk__in=readings["device"].unique(), kind=Device.Kind.INDEPENDENT_LOGGER
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    validated = validated_temperature(readings[readings["device"].isin(loggers)])
    return ReportData(
        header=_header(shipment),
        allowances=Allowances(
            max_single_excursion_min=product.max_single_excursion_min,
            max_cumulative_excursion_min=product.max_cumulative_excursion_min,
            mkt_limit_c=product.mkt_limit_c,
        ),
        readings=readings,
        readings_pending=(
            Reading.objects.filter(periods).count() - Reading.objects.filter(proven).count()
        ),
        validated=validated,
        summary=excursion_summary(
            validated,
            temp_min_c=product.temp_min_c,
            temp_max_c=product.temp_max_c,
            band_min_c=product.excursion_min_c,
            band_max_c=product.excursion_max_c,
        ),
        alerts=_alerts(shipment),
        checkpoint=None if checkpoint is None else _checkpoint_info(checkpoint),
        quorum_devices=loggers,
    )


def validated_temperature(readings: pd.DataFrame) -> pd.Series:
    """The quorum's cargo temperature on the 1-minute grid from ``device, ts, temp_c``."""
    if readings.empty:
        return pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="float64")
    steps = quorum(
        aligned_readings(
            readings.assign(shipment=""), step_s=GRID_STEP_S, max_age_s=READING_MAX_AGE_S
        ),
        k=QUORUM_K,
        tolerance_c=QUORUM_TOLERANCE_C,
    ).steps
    return pd.Series(
        steps["validated_c"].to_numpy("float64"), index=pd.DatetimeIndex(steps["t"]), name="cargo"
    )


def _header(shipment: Shipment) -> Header:
    product = shipment.product
    roles = (
        ("Shipper", shipment.shipper),
        ("Carrier", shipment.carrier),
        ("Receiver", shipment.receiver),
        ("Insurer", shipment.insurer),
        ("Bank", shipment.bank),
    )
    return Header(
        reference=shipment.reference,
        product=product.name,
        temp_min_c=product.temp_min_c,
        temp_max_c=product.temp_max_c,
        band_min_c=product.excursion_min_c,
        band_max_c=product.excursion_max_c,
        parties=tuple((role, party.name) for role, party in roles if party is not None),
        origin=shipment.origin,
        destination=shipment.destination,
        departure_at=shipment.departure_at,
        deadline_at=shipment.deadline_at,
        delivered_at=shipment.delivered_at,
        status=shipment.get_status_display(),
    )


def _attachment_periods(shipment: Shipment) -> Q:
    """Readings of the shipment's devices while attached, and before delivery.

    Periods are half-open, ``[attached_from, attached_until)``, so a logger
    moved to the next load at one instant counts for one load only.
    """
    periods = Q(pk__in=[])
    for attachment in shipment.attachments.all():
        period = Q(device_id=attachment.device_id, ts__gte=attachment.attached_from)
        if attachment.attached_until is not None:
            period &= Q(ts__lt=attachment.attached_until)
        if shipment.delivered_at is not None:
            period &= Q(ts__lt=shipment.delivered_at)
        periods |= period
    return periods


def _readings(periods: Q) -> pd.DataFrame:
    rows = Reading.objects.filter(periods).order_by("device_id", "ts", "seq")
    frame = pd.DataFrame.from_records(
        rows.values_list("device_id", "ts", "temp_c").iterator(chunk_size=10_000),
        columns=["device", "ts", "temp_c"],
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["temp_c"] = frame["temp_c"].astype("float64")
    # Two readings of one device at one instant: keep the later seq, as the device did.
    return frame.drop_duplicates(["device", "ts"], keep="last").reset_index(drop=True)


def _alerts(shipment: Shipment) -> tuple[AlertRow, ...]:
    alerts = (
        Alert.objects.filter(shipment=shipment)
        .select_related("opened_by__breach_model", "opened_by__breach_soon_model")
        .order_by("opened_at", "pk")
    )
    return tuple(
        AlertRow(
            kind=alert.get_kind_display(),
            status=alert.get_status_display(),
            opened_at=alert.opened_at,
            closed_at=alert.closed_at,
            models=(
                f"breach v{alert.opened_by.breach_model.version}, "
                f"breach soon v{alert.opened_by.breach_soon_model.version}"
            ),
            factors=tuple(_factor_text(factor) for factor in alert.opened_by.top_factors),
        )
        for alert in alerts
    )


def _factor_text(factor: object) -> str:
    """Assessments keep factors as analytics.explain.Factor fields or as bare text."""
    if isinstance(factor, dict):
        return str(factor.get("text") or factor.get("feature", ""))
    return str(factor)


def _checkpoint_info(checkpoint: Checkpoint) -> CheckpointInfo:
    return CheckpointInfo(
        size=checkpoint.size,
        root_hash=bytes(checkpoint.root_hash),
        signed_note=checkpoint_with_cosignatures(checkpoint),
    )
