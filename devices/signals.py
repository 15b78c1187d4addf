"""What the devices app announces to higher layers, which it must not import.

``readings_stored`` is sent after the transaction that stored new readings
commits (never for a batch that rolled back), once per batch, with
``device_ranges``: for each device with new readings, the earliest and latest
``ts`` among them. Receivers run after the commit: what they raise is logged
and never fails the ingest that has already stored the readings.
"""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: device_ranges (dict[str, tuple[datetime, datetime]])
readings_stored = Signal()
