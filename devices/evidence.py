"""The devices side of evidence bundles: which key signed a reading, and
selectors that turn a device, vehicle or reading into ledger indices."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from devices.models import Device, DeviceKey, Reading
from ledger.checkers import EntryRow
from ledger.evidence import EvidenceContext, EvidenceError, SignerKey
from ledger.jws import JwsError, parse_compact


def reading_context(rows: list[EntryRow]) -> EvidenceContext:
    """The key that verified each reading at ingest, and the entries that made it the
    device's: its registration, the rotations up to it, its retirement, a revocation."""
    stored = dict(
        Reading.objects.filter(ledger_entry_id__in=[row.entry_id for row in rows]).values_list(
            "ledger_entry_id", "signing_key_id"
        )
    )
    # An entry with no stored reading (verify_ledger reports it) gets every key
    # of the device it names; its signature shows which one, if any, signed it.
    unstored = set()
    for row in rows:
        if row.entry_id not in stored:
            try:
                unstored.add(parse_compact(row.data).kid)
            except JwsError:
                continue
    keys = list(
        DeviceKey.objects.filter(Q(pk__in=set(stored.values())) | Q(device_id__in=unstored)).values(
            "device_id",
            "number",
            "public_key",
            "retired_entry__sealed__index",
            "device__registration_entry__sealed__index",
            "device__revocation_entry__sealed__index",
        )
    )
    rotations: dict[str, dict[int, int | None]] = {}
    for device_id, number, index in DeviceKey.objects.filter(
        device_id__in={key["device_id"] for key in keys}, number__gt=1
    ).values_list("device_id", "number", "valid_from_entry__sealed__index"):
        rotations.setdefault(device_id, {})[number] = index
    return EvidenceContext(
        keys=tuple(
            SignerKey(
                key["device_id"],
                bytes(key["public_key"]),
                key["device__registration_entry__sealed__index"],
                key["device__revocation_entry__sealed__index"],
                number=key["number"],
                rotated_in=_rotated_in(key["device_id"], key["number"], rotations),
                retired_in=key["retired_entry__sealed__index"],
            )
            for key in keys
        )
    )


def _rotated_in(
    device_id: str, number: int, rotations: dict[str, dict[int, int | None]]
) -> tuple[int, ...]:
    """The indices of the rotations to keys #2 .. #``number``; a key whose chain is
    not all in the log yet cannot be proven, so the export stops and says why."""
    indices = []
    for n in range(2, number + 1):
        index = rotations[device_id][n]
        if index is None:
            raise EvidenceError(
                f"the rotation of {device_id} to key #{n} is not sealed yet: run "
                "manage.py seal, then export again"
            )
        indices.append(index)
    return tuple(indices)


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
