"""The debounce between ingest and evaluation (docs/evaluation.md, docs/operations.md).

Ingest marks the shipments its readings belong to (one ``ShipmentDirty`` row
per shipment, however many batches mark it). The evaluation tick, a Celery
beat task every ``EVALUATION_DEBOUNCE_S``, queues one evaluation per marked
shipment that is due and not already queued. The evaluation then removes the
mark, unless readings marked the shipment again meanwhile (the next tick
evaluates it again) or an instant still waits to settle (due again then).

A database table rather than Redis: the embedded default runs without Redis,
and the mark commits in the same database as the readings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Least
from django.utils import timezone

from coldchain.evaluation import EvaluationResult, shipment_evaluate
from coldchain.models import DeviceAttachment, Shipment, ShipmentDirty

logger = logging.getLogger(__name__)

TICK_LIMIT = 1000  # shipments queued per tick; the rest at the next one


def shipments_mark_dirty(
    device_ranges: dict[str, tuple[datetime, datetime]], *, now: datetime | None = None
) -> set[int]:
    """Mark the shipments whose devices were attached when these readings were taken.

    ``device_ranges``: per device, the earliest and latest ``ts`` of its new
    readings. Returns the marked shipments' ids. Four queries whatever the
    batch size.
    """
    now = now or timezone.now()
    earliest: dict[int, datetime] = {}
    for shipment_id, device_id, start, end in DeviceAttachment.objects.filter(
        device_id__in=list(device_ranges)
    ).values_list("shipment_id", "device_id", "attached_from", "attached_until"):
        first, last = device_ranges[device_id]
        if start <= last and (end is None or first < end):
            since = max(first, start)
            earliest[shipment_id] = min(earliest.get(shipment_id, since), since)
    if not earliest:
        return set()
    ShipmentDirty.objects.bulk_create(
        [
            ShipmentDirty(shipment_id=shipment_id, since=since, marked_at=now, due_at=now)
            for shipment_id, since in earliest.items()
        ],
        ignore_conflicts=True,
    )
    marked = ShipmentDirty.objects.filter(shipment_id__in=list(earliest))
    # Rows that existed: marked again, due at once.
    marked.update(marked_at=now, due_at=Least("due_at", now))
    # An earlier since than the row's only for readings late after an outage:
    # one update each of those, none usually.
    for shipment_id, since in marked.values_list("shipment_id", "since"):
        if earliest[shipment_id] < since:
            ShipmentDirty.objects.filter(shipment_id=shipment_id).update(
                since=earliest[shipment_id]
            )
    return set(earliest)


def shipments_mark_dirty_on_readings(sender, device_ranges, **kwargs) -> None:
    """Receiver of ``devices.signals.readings_stored``."""
    shipments_mark_dirty(device_ranges)


def dirty_shipments_queue(
    *, enqueue: Callable[[int], None], now: datetime | None = None, limit: int = TICK_LIMIT
) -> int:
    """The evaluation tick: queue one evaluation per due, unqueued marked shipment; how many.

    An evaluation queued ``EVALUATION_REQUEUE_AFTER_S`` ago and still not
    done lost its message (worker killed, broker restarted): it is queued again.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.EVALUATION_REQUEUE_AFTER_S)
    with transaction.atomic():
        ids = list(
            ShipmentDirty.objects.select_for_update(skip_locked=True)
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=stale), due_at__lte=now)
            .order_by("due_at")
            .values_list("shipment_id", flat=True)[:limit]
        )
        ShipmentDirty.objects.filter(shipment_id__in=ids).update(queued_at=now)
        transaction.on_commit(lambda: _enqueue_each(ids, enqueue))
    return len(ids)


def _enqueue_each(ids: list[int], enqueue: Callable[[int], None]) -> None:
    for shipment_id in ids:
        try:
            enqueue(shipment_id)
        except Exception:
            # The broker refused it: the mark stays queued and a later tick
            # queues it again after EVALUATION_REQUEUE_AFTER_S.
            logger.exception("could not queue the evaluation of shipment %s", shipment_id)


def dirty_shipment_evaluate(
    shipment_id: int, *, now: datetime | None = None
) -> EvaluationResult | None:
    """Evaluate a marked shipment and settle its mark; None if it is not marked (any more)."""
    now = now or timezone.now()
    mark = ShipmentDirty.objects.filter(shipment_id=shipment_id).first()
    shipment = Shipment.objects.select_related("product").filter(pk=shipment_id).first()
    if mark is None or shipment is None:
        return None
    result = shipment_evaluate(shipment, now=now)
    unchanged = ShipmentDirty.objects.filter(shipment_id=shipment_id, marked_at=mark.marked_at)
    if result.more:
        unchanged.update(queued_at=None, due_at=now)
    elif result.retry_at is not None:
        unchanged.update(queued_at=None, due_at=result.retry_at)
    else:
        unchanged.delete()
    # Marked again while it was evaluated: due already, only unqueue it.
    ShipmentDirty.objects.filter(shipment_id=shipment_id).exclude(marked_at=mark.marked_at).update(
        queued_at=None
    )
    return result
