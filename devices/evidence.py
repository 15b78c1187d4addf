"""The devices side of evidence bundles: which key signed a reading, and
selectors that turn a device, vehicle or reading into ledger indices."""

from __future__ import annotations

from datetime import datetime

from devices.models import Device, Reading
from ledger.checkers import EntryRow
from ledger.evidence import EvidenceContext, EvidenceError, SignerKey
from ledger.jws import JwsError, parse_compact


def reading_context(rows: list[EntryRow]) -> EvidenceContext:
    """The key of the device that signed each reading, and where it was registered."""
    kids = set()
    for row in rows:
        try:
            kids.add(parse_compact(row.data).kid)
        except JwsError:
            continue
    devices = Device.objects.filter(pk__in=kids).values_list(
        "id", "public_key", "registration_entry__sealed__index", "revocation_entry__sealed__index"
    )
    return EvidenceContext(
        keys=tuple(
            SignerKey(kid, bytes(key), registered, revoked)
            for kid, key, registered, revoked in devices
        )
    )


def _sealed_indices(readings, since: datetime | None, until: datetime | None) -> list[int]:
    if since is not None:
        readings = readings.filter(ts__gte=since)
    if until is not None:
        readings = readings.filter(ts__lt=until)
    return list(
        readings.filter(ledger_entry__sealed__isnull=False)
        .order_by("ledger_entry__sealed__index")
        .values_list("ledger_entry__sealed__index", flat=True)
    )


def select_device(value: str, since: datetime | None, until: datetime | None) -> list[int]:
    if not Device.objects.filter(pk=value).exists():
        raise EvidenceError(f"no device {value!r}")
    return _sealed_indices(Reading.objects.filter(device_id=value), since, until)


def select_vehicle(value: str, since: datetime | None, until: datetime | None) -> list[int]:
    return _sealed_indices(Reading.objects.filter(device__vehicle=value), since, until)


def select_reading(value: str, since: datetime | None, until: datetime | None) -> list[int]:
    device, sep, seq = value.rpartition("#")
    if not sep or not device or not seq.isdigit():
        raise EvidenceError(f"reading={value!r}: want reading=DEVICE#SEQ")
    return _sealed_indices(Reading.objects.filter(device_id=device, seq=int(seq)), since, until)
