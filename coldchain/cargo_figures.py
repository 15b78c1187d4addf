"""A shipment's excursion accounting, kept between views for as long as it holds.

``coldchain.report_data.cargo_accounting`` loads every sealed reading of the
shipment (130,000 on a 30-day trip) and runs the loggers' quorum over them:
seconds per call. Its figures depend only on which readings it counts, those of
the shipment's devices within their attachment periods, up to delivery or now,
sealed below the latest checkpoint, and on the accounting terms and the loading
time. A newer checkpoint that seals other shipments' entries, or a clock that
moved on, changes nothing unless a reading of this shipment came into that set:
one sealed since the figures were counted, or one sealed before but stamped
later than the time they were counted up to.

So the summary is cached (Django's cache: Redis when configured) under the
shipment, its terms, its loading time and its attachments, with the tree size
and the time it was counted up to; a view takes it after an index lookup
proves that no reading of the shipment came into the set since, and counts
again otherwise. Whatever it shows is what ``cargo_accounting`` (and so the
contract engine and the report) computes from the same readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.db.models import Q

from coldchain.cargo import attachment_filter
from coldchain.contract_facts import departed_at
from coldchain.contracts import shipment_accounting_terms
from coldchain.excursions import ExcursionSummary
from coldchain.models import DeviceAttachment, Shipment
from coldchain.report_data import cargo_accounting
from coldchain.terms import sha256_json
from devices.models import Reading
from ledger.models import Checkpoint
from ledger.services import checkpoint_latest

KEY_VERSION = 1
CACHE_SECONDS = 7 * 24 * 3600  # an idle shipment's figures leave the cache after a week


@dataclass(frozen=True)
class CargoFigures:
    """The excursion summary of the readings the latest checkpoint proves, under ``terms``."""

    terms: dict
    checkpoint: Checkpoint | None
    summary: ExcursionSummary


@dataclass(frozen=True)
class _Counted:
    summary: ExcursionSummary
    log_size: int  # readings sealed below this tree size were counted
    until: datetime  # readings stamped up to this time were counted


def _cache_key(shipment: Shipment, terms: dict) -> str:
    attachments = list(
        DeviceAttachment.objects.filter(shipment=shipment)
        .order_by("device_id", "attached_from")
        .values_list("device_id", "device__kind", "attached_from", "attached_until")
    )
    identity = {
        # created_at tells apart shipments that reuse a primary key (a recreated database).
        "shipment": [shipment.pk, shipment.reference, shipment.created_at],
        "terms": terms,
        "loaded_at": departed_at(shipment) or shipment.departure_at,
        "attachments": attachments,
    }
    return f"coldchain:cargo-figures:v{KEY_VERSION}:{shipment.pk}:{sha256_json(identity)}"


def _still_counts(shipment: Shipment, counted: _Counted, *, log_size: int, until: datetime) -> bool:
    """Whether the readings counted below ``log_size`` up to ``until`` are the
    ones ``counted`` was made of."""
    if log_size < counted.log_size or until < counted.until:
        return False
    readings = Reading.objects.filter(
        attachment_filter(shipment), ts__lte=until, ledger_entry__sealed__index__lt=log_size
    )
    sealed_since = Q(ledger_entry__sealed__index__gte=counted.log_size)
    stamped_since = Q(ts__gt=counted.until)
    # Two lookups rather than one OR: each walks its own index (log index, device and time).
    return not (
        (log_size > counted.log_size and readings.filter(sealed_since).exists())
        or (until > counted.until and readings.filter(stamped_since).exists())
    )


def cargo_figures(shipment: Shipment, *, now: datetime | None = None) -> CargoFigures:
    """The shipment's excursion summary as ``cargo_accounting`` gives it now,
    counted again only when the readings it rests on changed."""
    checkpoint = checkpoint_latest()
    log_size = 0 if checkpoint is None else checkpoint.size
    terms = shipment_accounting_terms(shipment)
    until = shipment.delivered_at or now or datetime.now(UTC)
    key = _cache_key(shipment, terms)
    counted = cache.get(key)
    if counted is None or not _still_counts(shipment, counted, log_size=log_size, until=until):
        accounting = cargo_accounting(shipment, now=until)
        checkpoint, terms = accounting.checkpoint, accounting.terms
        log_size = 0 if checkpoint is None else checkpoint.size
        counted = _Counted(accounting.summary, log_size, accounting.until)
        key = _cache_key(shipment, terms)
    # Stored again with the newer size and time, so the next lookup only looks past them.
    cache.set(key, _Counted(counted.summary, log_size, until), CACHE_SECONDS)
    return CargoFigures(terms=terms, checkpoint=checkpoint, summary=counted.summary)
