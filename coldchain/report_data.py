"""What a shipment report shows, gathered from the database into plain values.

Rendering (``coldchain.report``) works on ``ReportData`` only, so the same data
always gives the same PDF and long shipments can be rendered without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from coldchain.cargo import attachment_filter, cargo_loggers
from coldchain.contract_facts import cargo_summary, departed_at, sealed_readings
from coldchain.contracts import shipment_accounting_terms
from coldchain.excursions import ExcursionSummary
from coldchain.models import Alert, ReleaseSignature, Shipment
from devices.models import Reading
from ledger.models import Checkpoint, Entry
from ledger.services import checkpoint_latest, checkpoint_with_cosignatures


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
    """The contract's excursion allowances, shown next to the measured figures."""

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


@dataclass(frozen=True)
class CargoAccounting:
    """The shipment's cargo accounted as the contract engine does, on sealed readings."""

    terms: dict
    allowances: Allowances
    checkpoint: Checkpoint | None
    until: datetime
    readings: pd.DataFrame  # the coldchain.cargo readings frame, sealed below the checkpoint
    validated: pd.Series
    summary: ExcursionSummary


def cargo_accounting(shipment: Shipment, *, now: datetime | None = None) -> CargoAccounting:
    """The readings of the shipment's devices within their attachment periods
    (up to delivery, or ``now``) that the latest checkpoint proves, and their
    excursion accounting under the shipment's accounting terms."""
    checkpoint = checkpoint_latest()
    terms = shipment_accounting_terms(shipment)
    until = shipment.delivered_at or now or datetime.now(UTC)
    readings = sealed_readings(
        shipment, until=until, log_size=checkpoint.size if checkpoint is not None else 0
    )
    validated, summary = cargo_summary(
        shipment, readings, terms, loaded_at=departed_at(shipment) or shipment.departure_at
    )
    excursions = terms["excursions"]
    return CargoAccounting(
        terms=terms,
        allowances=Allowances(
            max_single_excursion_min=excursions["max_single_min"],
            max_cumulative_excursion_min=excursions["max_cumulative_min"],
            mkt_limit_c=excursions["mkt_limit_c"],
        ),
        checkpoint=checkpoint,
        until=until,
        readings=readings,
        validated=validated,
        summary=summary,
    )


def report_data(shipment: Shipment, *, now: datetime | None = None) -> ReportData:
    """Everything the shipment's report shows: its cargo accounting
    (``cargo_accounting``) and what was decided about it.

    Readings received after the latest checkpoint wait for the next one: so
    every figure rests on readings the named checkpoint proves, and the report
    does not change until the log grows.
    """
    accounting = cargo_accounting(shipment, now=now)
    checkpoint = accounting.checkpoint
    readings = accounting.readings
    received = Reading.objects.filter(attachment_filter(shipment), ts__lte=accounting.until).count()
    return ReportData(
        header=_header(shipment, accounting.terms),
        allowances=accounting.allowances,
        readings=readings[["device", "ts", "temp_c"]],
        readings_pending=received - len(readings),
        validated=accounting.validated,
        summary=accounting.summary,
        alerts=_alerts(shipment),
        checkpoint=None if checkpoint is None else _checkpoint_info(checkpoint),
        quorum_devices=tuple(sorted(cargo_loggers(shipment))),
        contract_actions=_contract_actions(shipment),
        release=_release(shipment),
    )


def _contract_actions(shipment: Shipment) -> tuple[ContractActionRow, ...]:
    actions = shipment.actions.select_related("ledger_entry__sealed").order_by("at", "id")
    return tuple(
        ContractActionRow(
            kind=action.get_kind_display(),
            at=action.at,
            description=action.reason
            + (f" ({action.amount} {action.currency})" if action.amount is not None else ""),
            ledger_index=_index(action.ledger_entry),
        )
        for action in actions
    )


def _release(shipment: Shipment) -> ReleaseRow | None:
    signature = (
        ReleaseSignature.objects.filter(shipment=shipment)
        .select_related("ledger_entry__sealed")
        .first()
    )
    if signature is None:
        return None
    return ReleaseRow(
        decision=signature.get_decision_display(),
        signer=signature.printed_name,
        meaning=signature.meaning,
        signed_at=signature.signed_at,
        reason=signature.reason,
        ledger_index=_index(signature.ledger_entry),
    )


def _index(entry: Entry) -> int | None:
    sealed = getattr(entry, "sealed", None)
    return sealed.index if sealed is not None else None


def _header(shipment: Shipment, terms: dict) -> Header:
    temperature = terms["temperature"]
    return Header(
        reference=shipment.reference,
        product=shipment.product.name,
        temp_min_c=temperature["min_c"],
        temp_max_c=temperature["max_c"],
        band_min_c=temperature["band_min_c"],
        band_max_c=temperature["band_max_c"],
        parties=tuple((role.title(), party.name) for role, party in shipment.parties().items()),
        origin=shipment.origin,
        destination=shipment.destination,
        departure_at=shipment.departure_at,
        deadline_at=shipment.deadline_at,
        delivered_at=shipment.delivered_at,
        status=shipment.get_status_display(),
    )


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
