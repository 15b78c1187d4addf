"""Recording, sending, retrying and redelivering webhook events.

The database row is the truth, Celery only the trigger (as in devices.inbox):
a delivery is queued once its row is committed, and the sweep
(``webhooks_sweep``) queues every delivery that is due and whose message
looks lost, so neither a lost Celery message nor a killed worker loses a
webhook. Before sending, a worker takes the row's lease with one conditional
UPDATE, so two workers never send the same delivery at the same time, and no
transaction stays open during the HTTP call.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from coldchain.models import Shipment, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from coldchain.webhooks.signing import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    signature_header_format,
    webhook_signature,
)
from coldchain.webhooks.transport import PostResult, webhook_post

logger = logging.getLogger(__name__)

DELIVER_TASK = "coldchain.webhooks_deliver"
JITTER = 0.1
# A lease outlasts the slowest POST (connect and read, each up to the
# timeout) with some slack; a worker killed mid-send frees it by expiring.
LEASE_SLACK_S = 30
SWEEP_LIMIT = 500
USER_AGENT = "coldchain-webhooks/1"

Enqueue = Callable[[int], None]


def enqueue_delivery(delivery_id: int) -> None:
    # By name: this module must not import the tasks that import it. No
    # publish retries: the row is kept and the sweep queues it if this fails.
    current_app.send_task(DELIVER_TASK, args=[delivery_id], retry=False)


def _enqueue_on_commit(delivery_ids: Iterable[int], enqueue: Enqueue) -> None:
    def send() -> None:
        for delivery_id in delivery_ids:
            try:
                enqueue(delivery_id)
            except Exception:
                logger.warning(
                    "webhooks: delivery %d kept but not queued; the sweep will", delivery_id
                )

    transaction.on_commit(send)


def event_body(
    *, event_id: uuid.UUID, event_type: str, shipment: Shipment, payload: dict, at: datetime
) -> bytes:
    """The JSON envelope sent for an event, in the bytes every attempt sends."""
    envelope = {
        "id": str(event_id),
        "type": event_type,
        "created_at": at,
        "shipment": shipment.reference,
        "data": payload,
    }
    try:
        text = json.dumps(
            envelope,
            cls=DjangoJSONEncoder,
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"webhook payload of {event_type!r} is not JSON: {exc}") from None
    return text.encode()


def webhook_events_record(
    *,
    shipment: Shipment,
    event_type: str,
    payload: dict,
    key: str,
    enqueue: Enqueue = enqueue_delivery,
    now: datetime | None = None,
) -> list[WebhookDelivery]:
    """Record the event for every active endpoint of the shipment's parties
    subscribed to ``event_type`` and queue the deliveries after commit.

    Returns the deliveries created: none for an endpoint that already has
    ``key``, whose body stays the one recorded first.
    """
    now = now or timezone.now()
    party_ids = {
        shipment.shipper_id,
        shipment.carrier_id,
        shipment.receiver_id,
        shipment.insurer_id,
        shipment.bank_id,
    } - {None}
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(party_id__in=party_ids, active=True)
        if endpoint.subscribes_to(event_type)
    ]
    if not endpoints:
        return []
    new = []
    for endpoint in endpoints:
        event_id = uuid.uuid4()
        body = event_body(
            event_id=event_id, event_type=event_type, shipment=shipment, payload=payload, at=now
        )
        new.append(
            WebhookDelivery(
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                key=key,
                body=body,
                schedule_started_at=now,
                next_attempt_at=now,
                queued_at=now,
            )
        )
    with transaction.atomic():
        # A key already recorded for an endpoint is skipped by the unique
        # constraint, even when two processes record it at the same time.
        WebhookDelivery.objects.bulk_create(new, ignore_conflicts=True)
        created = list(
            WebhookDelivery.objects.filter(event_id__in=[d.event_id for d in new]).order_by("id")
        )
        _enqueue_on_commit([delivery.pk for delivery in created], enqueue)
    return created


def retry_at(
    schedule_started_at: datetime, attempted_at: datetime, *, jitter: float | None = None
) -> datetime | None:
    """When to try again after a failed attempt; None once the window is over.

    Each wait is as long as the schedule has run so far (so waits double),
    at least the base delay and at most the cap, with some jitter so that
    receivers coming back are not hit by every delivery at once. The last
    attempt falls at the end of the window. ``jitter`` is the factor applied
    to the wait; by default a random one within ±JITTER.
    """
    deadline = schedule_started_at + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_S)
    if attempted_at >= deadline:
        return None
    elapsed = (attempted_at - schedule_started_at).total_seconds()
    delay = min(max(elapsed, settings.WEBHOOK_RETRY_BASE_S), settings.WEBHOOK_RETRY_MAX_DELAY_S)
    delay *= random.uniform(1 - JITTER, 1 + JITTER) if jitter is None else jitter
    return min(attempted_at + timedelta(seconds=delay), deadline)


def webhook_headers(delivery: WebhookDelivery, timestamp: int) -> dict[str, str]:
    signature = webhook_signature(delivery.endpoint.secret, timestamp, bytes(delivery.body))
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER_ID: str(delivery.event_id),
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature_header_format([signature]),
    }


def _claim(delivery_id: int, now: datetime) -> int | None:
    """Take the delivery's lease; the number of the attempt it allows, or None.

    One UPDATE on the row's own columns: PostgreSQL re-checks them on the
    row a concurrent claim just updated, so only one of two claims wins.
    """
    lease = timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_S + LEASE_SLACK_S)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    claimed = WebhookDelivery.objects.filter(free, pk=delivery_id, next_attempt_at__lte=now).update(
        claimed_until=now + lease, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.values_list("attempts", flat=True).get(pk=delivery_id)


def webhook_deliver(delivery_id: int, *, now: datetime | None = None) -> WebhookAttempt | None:
    """Make the next attempt of a due delivery and log it; None when it is not
    due, already delivered, given up, being sent by another worker, or its
    endpoint is inactive."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or not delivery.endpoint.active:
        return None
    number = _claim(delivery_id, now)
    if number is None:
        return None
    result = webhook_post(
        delivery.endpoint.url,
        bytes(delivery.body),
        webhook_headers(delivery, int(now.timestamp())),
        timeout=settings.WEBHOOK_TIMEOUT_S,
    )
    return _attempt_record(delivery_id, number, now, result)


def _attempt_record(
    delivery_id: int, number: int, at: datetime, result: PostResult
) -> WebhookAttempt:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=at,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
        )
        # A later attempt (this one's lease expired) owns the schedule now:
        # this one only adds its log line, or its success.
        current = delivery.attempts == number
        if result.ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = delivery.delivered_at or at
            delivery.next_attempt_at = None
        elif current and delivery.status != WebhookDelivery.Status.DELIVERED:
            delivery.next_attempt_at = retry_at(delivery.schedule_started_at, at)
            delivery.status = (
                WebhookDelivery.Status.FAILED
                if delivery.next_attempt_at
                else WebhookDelivery.Status.GIVEN_UP
            )
        if current:
            delivery.claimed_until = None
        delivery.save(update_fields=["status", "delivered_at", "next_attempt_at", "claimed_until"])
    if delivery.status == WebhookDelivery.Status.GIVEN_UP:
        logger.error(
            "webhooks: gave up delivery %d (%s) to %s after %d attempts",
            delivery.pk,
            delivery.event_type,
            delivery.endpoint.url,
            delivery.attempts,
        )
    return attempt


def webhook_redeliver(
    delivery: WebhookDelivery, *, enqueue: Enqueue = enqueue_delivery, now: datetime | None = None
) -> WebhookDelivery:
    """Send a delivery again now, whatever its status, on a fresh retry
    schedule: same body and event id, new timestamp and signature."""
    now = now or timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING,
            schedule_started_at=now,
            next_attempt_at=now,
            queued_at=now,
        )
        _enqueue_on_commit([delivery.pk], enqueue)
    delivery.refresh_from_db()
    return delivery


def webhooks_sweep(
    *, enqueue: Enqueue = enqueue_delivery, now: datetime | None = None, limit: int = SWEEP_LIMIT
) -> int:
    """Queue the deliveries that are due (a retry whose time has come, or a
    delivery whose message was lost); how many. Stops at the first the
    broker refuses."""
    now = now or timezone.now()
    due = (
        WebhookDelivery.objects.filter(next_attempt_at__lte=now, endpoint__active=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(
            Q(queued_at__isnull=True)
            | Q(queued_at__lt=F("next_attempt_at"))
            | Q(queued_at__lt=now - timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_S))
        )
        .order_by("next_attempt_at")
        .select_for_update(skip_locked=True, of=("self",))
    )
    queued = []
    with transaction.atomic():
        for delivery_id in due.values_list("id", flat=True)[:limit]:
            try:
                enqueue(delivery_id)
            except Exception:
                logger.warning("webhooks: the task broker refused delivery %d", delivery_id)
                break
            queued.append(delivery_id)
        WebhookDelivery.objects.filter(pk__in=queued).update(queued_at=now)
    return len(queued)
