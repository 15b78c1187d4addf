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
and the time it was counted up to and how many readings it counted. A later
view, with a size and a time no smaller, counts the readings that now belong
in the set (per device, on the readings' (device, time) index, no table rows):
the set only grows, so the same number means the same readings and the cached
summary is taken; another number counts the figures anew. Whatever it shows is
what ``cargo_accounting`` (and so the contract engine and the report) computes
from the same readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache

from coldchain.cargo import device_periods
from coldchain.contract_facts import departed_at
from coldchain.contracts import shipment_accounting_terms
from coldchain.excursions import ExcursionSummary
from coldchain.models import DeviceAttachment, Shipment
from coldchain.report_data import cargo_accounting
from coldchain.terms import sha256_json
from devices.models import Reading
from ledger.models import Checkpoint, LogIndex, PendingEntry
from ledger.services import checkpoint_latest

KEY_VERSION = 1  # bumped when what is cached changes shape
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
    readings: int  # how many


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


def _sealed_count(shipment: Shipment, *, log_size: int, until: datetime) -> int:
    """How many readings of the shipment stamped up to ``until`` are sealed below ``log_size``.

    Every entry below a checkpoint's size is sealed before the checkpoint is
    made, so this is a fixed number once ``log_size`` is known. Counted per
    device on the (device, time) index, which holds the ledger entry, leaving
    out the few entries not sealed below ``log_size``: those still pending and
    those sealed at or above it."""
    pending = PendingEntry.objects.values("entry_id")
    above = LogIndex.objects.filter(index__gte=log_size).values("entry_id")
    return sum(
        Reading.objects.filter(periods, ts__lte=until, ledger_entry__isnull=False)
        .exclude(ledger_entry_id__in=pending)
        .exclude(ledger_entry_id__in=above)
        .count()
        for periods in device_periods(shipment)
    )


def _still_counts(shipment: Shipment, counted: _Counted, *, log_size: int, until: datetime) -> bool:
    """Whether the readings sealed below ``log_size`` up to ``until`` are those
    ``counted`` was made of: with a size and a time no smaller, they include
    them all, so the same number means the same readings."""
    if log_size < counted.log_size or until < counted.until:
        return False
    if log_size == counted.log_size and until == counted.until:
        return True
    return _sealed_count(shipment, log_size=log_size, until=until) == counted.readings


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
        counted = _Counted(accounting.summary, log_size, accounting.until, len(accounting.readings))
        key = _cache_key(shipment, terms)
    # Stored again with the newer size and time: the next view compares with them.
    cache.set(key, _Counted(counted.summary, log_size, until, counted.readings), CACHE_SECONDS)
    return CargoFigures(terms=terms, checkpoint=checkpoint, summary=counted.summary)
