"""Read-side queries for the dashboard."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, Subquery

from devices.models import Device, Reading, Rejection

LATEST_FIELDS = ("seq", "ts", "temp_c", "door_open", "reefer_on", "setpoint_c", "ambient_c")


def fleet_overview() -> list[dict]:
    """Trucks with their devices and each device's latest reading."""
    latest = Reading.objects.filter(device=OuterRef("pk")).order_by("-seq")
    devices = Device.objects.annotate(
        **{f"latest_{name}": Subquery(latest.values(name)[:1]) for name in LATEST_FIELDS},
        readings_stored=Count("readings", distinct=True),
    ).order_by("vehicle", "id")
    rejections = dict(
        Rejection.objects.exclude(device_id="")
        .filter(~Q(reason=Rejection.Reason.DUPLICATE))
        .values_list("device_id")
        .annotate(n=Count("id"))
    )
    trucks: dict[str, list[dict]] = {}
    for device in devices:
        trucks.setdefault(device.vehicle, []).append(
            {
                "id": device.id,
                "kind": device.get_kind_display(),
                "status": device.status,
                "last_seen": device.last_seen.isoformat() if device.last_seen else None,
                "rejections": rejections.get(device.id, 0),
                "latest": None
                if device.latest_seq is None
                else {
                    name: (
                        getattr(device, f"latest_{name}").isoformat()
                        if name == "ts"
                        else getattr(device, f"latest_{name}")
                    )
                    for name in LATEST_FIELDS
                },
            }
        )
    return [{"vehicle": vehicle, "devices": items} for vehicle, items in trucks.items()]
