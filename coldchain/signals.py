"""What the shipment domain announces, for integrations (webhooks) to deliver.

Senders fire ``shipment_event`` from ``transaction.on_commit`` so a receiver
never sees an event whose data was rolled back. ``key`` identifies the event:
the same key always carries the same payload, so a receiver that is told
twice can recognise the repeat.
"""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: shipment (Shipment), event_type (str, e.g. "alert.opened",
# "contract.claim_filed"), payload (JSON-ready dict), key (str, unique per event)
shipment_event = Signal()
