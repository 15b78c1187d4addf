"""The shipment page's excursion summary and contract timeline."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from coldchain.access import evidence_visible
from coldchain.cargo_figures import cargo_figures
from coldchain.excursions import Excursion, ExcursionSummary
from coldchain.models import (
    Contract,
    ContractAction,
    InsuranceClaim,
    ReleaseSignature,
    Shipment,
    ShipmentTransition,
)
from coldchain.release import release_manifestation, release_signer_allowed


@dataclass(frozen=True)
class Measure:
    """One figure of the excursion summary next to the limit the terms set for it."""

    label: str
    value: str
    limit: str  # "" when the terms set none
    within: bool | None  # None when there is nothing to compare


@dataclass(frozen=True)
class ExcursionPanel:
    measures: tuple[Measure, ...]
    excursions: tuple[Excursion, ...]
    samples: int
    checkpoint_size: int | None
    under_contract: bool  # the limits are the contract's, else the product's


def minutes_text(minutes: float | None) -> str:
    """Durations as people read them: "45 min", "2 h 05 min"."""
    if minutes is None:
        return "—"
    whole = round(minutes)
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60:02d} min"


def _celsius(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} °C"


def _against(value: float | None, limit: float | None) -> bool | None:
    return None if value is None or limit is None else value <= limit


def _measures(summary: ExcursionSummary, terms: dict) -> tuple[Measure, ...]:
    excursions = terms["excursions"]
    temperature = terms["temperature"]
    mkt_limit = excursions["mkt_limit_c"]
    mkt_limit_text = "" if mkt_limit is None else f"≤ {_celsius(mkt_limit)}"
    band = f"{temperature['band_min_c']:g} to {temperature['band_max_c']:g} °C"
    inside = summary.min_c is None or (
        temperature["min_c"] <= summary.min_c and summary.max_c <= temperature["max_c"]
    )
    return (
        Measure(
            "Time out of range, cumulative",
            minutes_text(summary.cumulative_minutes),
            f"≤ {minutes_text(excursions['max_cumulative_min'])}",
            _against(summary.cumulative_minutes, excursions["max_cumulative_min"]),
        ),
        Measure(
            "Longest excursion",
            minutes_text(summary.longest_minutes),
            f"≤ {minutes_text(excursions['max_single_min'])}",
            _against(summary.longest_minutes, excursions["max_single_min"]),
        ),
        Measure(
            "Out of range but inside the allowed band",
            minutes_text(summary.band_minutes),
            band,
            None,
        ),
        Measure(
            "Beyond the allowed band",
            minutes_text(summary.beyond_band_minutes),
            "0 min",
            summary.beyond_band_minutes == 0,
        ),
        Measure("Unvalidated (no quorum)", minutes_text(summary.unvalidated_minutes), "", None),
        Measure(
            "Lowest / highest validated",
            f"{_celsius(summary.min_c)} / {_celsius(summary.max_c)}",
            f"{temperature['min_c']:g} to {temperature['max_c']:g} °C",
            None if summary.min_c is None else inside,
        ),
        Measure(
            "Mean kinetic temperature, whole shipment",
            _celsius(summary.mkt_c),
            mkt_limit_text,
            _against(summary.mkt_c, mkt_limit),
        ),
        Measure(
            "Mean kinetic temperature, worst 24 h",
            _celsius(summary.mkt_24h_max_c),
            mkt_limit_text,
            _against(summary.mkt_24h_max_c, mkt_limit),
        ),
    )


def excursion_panel(shipment: Shipment) -> ExcursionPanel:
    """The shipment's excursion accounting as contracts and its report make it:
    sealed readings, validated cargo temperature, the accounting terms' limits
    (``coldchain.cargo_figures``: counted again only when its readings change)."""
    figures = cargo_figures(shipment)
    summary = figures.summary
    return ExcursionPanel(
        measures=_measures(summary, figures.terms),
        excursions=summary.excursions,
        samples=summary.samples,
        checkpoint_size=None if figures.checkpoint is None else figures.checkpoint.size,
        under_contract=Contract.objects.filter(shipment=shipment).exists(),
    )


@dataclass(frozen=True)
class ContractTimeline:
    contract: Contract | None
    transitions: QuerySet[ShipmentTransition]
    actions: QuerySet[ContractAction]
    release: ReleaseSignature | None
    release_manifestation: str
    may_sign_release: bool
    party_names: dict[str, str]  # slug -> name: the terms name parties by slug


def contract_timeline(shipment: Shipment, user) -> ContractTimeline:
    """The contract, the shipment's transitions and the engine's actions in
    order, the receiver's signed release and whether ``user`` may sign it now."""
    contract = (
        Contract.objects.filter(shipment=shipment)
        .select_related("ledger_entry__sealed", "template")
        .first()
    )
    release = (
        ReleaseSignature.objects.filter(shipment=shipment)
        .select_related("ledger_entry__sealed")
        .first()
    )
    return ContractTimeline(
        contract=contract,
        transitions=shipment.transitions.select_related("actor", "ledger_entry__sealed").order_by(
            "at", "id"
        ),
        actions=shipment.actions.select_related("payer", "payee", "ledger_entry__sealed", "claim")
        .prefetch_related("model_versions")
        .order_by("at", "id"),
        release=release,
        release_manifestation="" if release is None else release_manifestation(release),
        may_sign_release=(
            release is None
            and shipment.status == Shipment.Status.DELIVERED
            and release_signer_allowed(shipment, user)
        ),
        party_names={party.slug: party.name for party in shipment.parties().values()},
    )


def claim_for(shipment: Shipment, user, claim_id: int) -> InsuranceClaim:
    """A claim on the shipment (already checked visible) whose evidence ``user``
    may download; 404 otherwise."""
    claim = (
        InsuranceClaim.objects.filter(pk=claim_id, action__shipment=shipment)
        .select_related("action")
        .first()
    )
    if claim is None or not evidence_visible(shipment, user):
        raise Http404("No such claim")
    return claim
