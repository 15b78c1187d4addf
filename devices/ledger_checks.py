"""What devices keep decoded must equal what the log holds (run by verify_ledger)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from devices.models import Device, Reading
from devices.wire import (
    BOOLEAN_CHANNELS,
    NUMBER_CHANNELS,
    WireError,
    b64url_encode,
    decode_payload,
    parse_compact,
    verify_signature,
)
from ledger.checkers import EntryRow, Problem
from ledger.merkle import leaf_hash
from ledger.platform_entries import platform_entry_open, platform_public_key

COMPARED_FIELDS = ("seq", "ts", "temp_c", *NUMBER_CHANNELS, *BOOLEAN_CHANNELS)


def _same(stored: object, signed: object) -> bool:
    if isinstance(stored, float) and isinstance(signed, float):
        return math.isclose(stored, signed, rel_tol=0, abs_tol=1e-9)
    return stored == signed


def check_readings(rows: list[EntryRow]) -> Iterator[Problem]:
    readings = {
        r["ledger_entry_id"]: r
        for r in Reading.objects.filter(ledger_entry_id__in=[row.entry_id for row in rows]).values(
            "ledger_entry_id", "device_id", "jws", *COMPARED_FIELDS
        )
    }
    keys = {
        device_id: Ed25519PublicKey.from_public_bytes(bytes(raw))
        for device_id, raw in Device.objects.filter(
            pk__in={r["device_id"] for r in readings.values()}
        ).values_list("id", "public_key")
    }
    for row in rows:
        reading = readings.get(row.entry_id)
        if reading is None:
            yield Problem(row.index, "reading entry has no stored reading")
            continue
        if leaf_hash(bytes(reading["jws"])) != row.leaf_hash:
            yield Problem(row.index, "the stored reading's JWS bytes are not the entry's bytes")
            continue
        try:
            message = parse_compact(row.data)
            verify_signature(message, keys[reading["device_id"]])
            signed = decode_payload(message.payload)
        except WireError as error:
            yield Problem(row.index, f"device signature or payload invalid: {error.detail}")
            continue
        for name in COMPARED_FIELDS:
            if not _same(reading[name], getattr(signed, name)):
                yield Problem(
                    row.index,
                    f"reading {reading['device_id']}#{signed.seq} stores {name}={reading[name]!r} "
                    f"but the device signed {getattr(signed, name)!r}",
                )


def check_registrations(rows: list[EntryRow]) -> Iterator[Problem]:
    devices = dict(
        Device.objects.filter(registration_entry_id__in=[row.entry_id for row in rows]).values_list(
            "registration_entry_id", "public_key"
        )
    )
    for row in rows:
        try:
            claims = platform_entry_open(row.data, platform_public_key())
        except WireError as error:
            yield Problem(row.index, f"registration entry invalid: {error.detail}")
            continue
        stored = devices.get(row.entry_id)
        if stored is None or claims.get("public_key") != b64url_encode(bytes(stored)):
            yield Problem(
                row.index, f"device {claims.get('device')}'s stored key is not the registered one"
            )
