"""The devices page: status, last seen, key fingerprint, rejections by reason."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count

from coldchain.access import devices_visible_to
from devices.models import Device, Rejection


def devices_with_rejections(user) -> list[tuple[Device, list[tuple[str, int]]]]:
    """Each visible device with its rejection counts, largest first (duplicates
    excluded: a device that resends after a lost acknowledgement did nothing wrong)."""
    devices = list(devices_visible_to(user).order_by("vehicle", "id"))
    counts: dict[str, list[tuple[str, int]]] = defaultdict(list)
    labels = dict(Rejection.Reason.choices)
    rows = (
        Rejection.objects.filter(device_id__in=[device.id for device in devices])
        .exclude(reason=Rejection.Reason.DUPLICATE)
        .values("device_id", "reason")
        .annotate(n=Count("id"))
        .order_by("device_id", "-n", "reason")
    )
    for row in rows:
        counts[row["device_id"]].append((labels.get(row["reason"], row["reason"]), row["n"]))
    return [(device, counts[device.id]) for device in devices]
