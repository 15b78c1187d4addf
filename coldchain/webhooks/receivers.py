"""Turns each shipment_event into webhook deliveries."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from coldchain.signals import shipment_event
from coldchain.webhooks.deliveries import webhook_events_record

logger = logging.getLogger(__name__)


@receiver(shipment_event, dispatch_uid="coldchain.webhooks.record")
def record_webhook_events(sender, *, shipment, event_type, payload, key, **kwargs) -> None:  # type: ignore[no-untyped-def]
    # The sender's transaction has committed: raising here would fail a
    # request whose work is done, so the failure is logged instead.
    try:
        webhook_events_record(shipment=shipment, event_type=event_type, payload=payload, key=key)
    except Exception:
        logger.exception("webhooks: event %s (%s) not recorded", key, event_type)
