"""What devices keep decoded must equal what the log holds (run by verify_ledger)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from devices.keys import KeyFormatError, fingerprint, key_window_problem, rotation_request_check
from devices.models import DeviceKey, Reading
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
from ledger.platform_entries import platform_entry_open, platform_public_key, platform_timestamp

COMPARED_FIELDS = ("seq", "ts", "temp_c", *NUMBER_CHANNELS, *BOOLEAN_CHANNELS)


def _same(stored: object, signed: object) -> bool:
    if isinstance(stored, float) and isinstance(signed, float):
        return math.isclose(stored, signed, rel_tol=0, abs_tol=1e-9)
    return stored == signed


def check_readings(rows: list[EntryRow]) -> Iterator[Problem]:
    readings = {
        r["ledger_entry_id"]: r
        for r in Reading.objects.filter(ledger_entry_id__in=[row.entry_id for row in rows]).values(
            "ledger_entry_id", "device_id", "jws", "signing_key_id", *COMPARED_FIELDS
        )
    }
    keys = {
        key["id"]: key
        for key in DeviceKey.objects.filter(
            pk__in={r["signing_key_id"] for r in readings.values()}
        ).values(
            "id",
            "device_id",
            "number",
            "public_key",
            "valid_from",
            "retired_at",
            "valid_from_entry__sealed__index",
        )
    }
    for row in rows:
        reading = readings.get(row.entry_id)
        if reading is None:
            yield Problem(row.index, "reading entry has no stored reading")
            continue
        if leaf_hash(bytes(reading["jws"])) != row.leaf_hash:
            yield Problem(row.index, "the stored reading's JWS bytes are not the entry's bytes")
            continue
        # The reading names the key that verified it at ingest: check that one, never search.
        key = keys[reading["signing_key_id"]]
        which = f"key #{key['number']} of {key['device_id']}"
        if key["device_id"] != reading["device_id"]:
            yield Problem(row.index, f"a reading of {reading['device_id']} names {which}")
            continue
        # A key added to the history behind the log's back has no entry before
        # the readings it verified; the entry checks alone would never see it.
        logged_at = key["valid_from_entry__sealed__index"]
        if logged_at is None or logged_at > row.index:
            yield Problem(row.index, f"{which} signed this reading but is not in the log before it")
            continue
        try:
            message = parse_compact(row.data)
            verify_signature(message, bytes(key["public_key"]))
            signed = decode_payload(message.payload)
        except WireError as error:
            yield Problem(
                row.index, f"device signature or payload invalid ({which}): {error.detail}"
            )
            continue
        window = key_window_problem(
            key["device_id"], key["number"], key["valid_from"], key["retired_at"], signed.ts
        )
        if window:
            yield Problem(row.index, window)
        for name in COMPARED_FIELDS:
            if not _same(reading[name], getattr(signed, name)):
                yield Problem(
                    row.index,
                    f"reading {reading['device_id']}#{signed.seq} stores {name}={reading[name]!r} "
                    f"but the device signed {getattr(signed, name)!r}",
                )


def _platform_claims(row: EntryRow, what: str) -> dict | Problem:
    try:
        return platform_entry_open(row.data, platform_public_key())
    except WireError as error:
        return Problem(row.index, f"{what} entry invalid: {error.detail}")


def check_registrations(rows: list[EntryRow]) -> Iterator[Problem]:
    first_keys = dict(
        DeviceKey.objects.filter(
            number=1, valid_from_entry_id__in=[row.entry_id for row in rows]
        ).values_list("valid_from_entry_id", "public_key")
    )
    for row in rows:
        claims = _platform_claims(row, "registration")
        if isinstance(claims, Problem):
            yield claims
            continue
        stored = first_keys.get(row.entry_id)
        if stored is None or claims.get("public_key") != b64url_encode(bytes(stored)):
            yield Problem(
                row.index, f"device {claims.get('device')}'s stored key is not the registered one"
            )


def _rotation_as_stored(new: DeviceKey, old: DeviceKey) -> dict:
    """The claims a rotation entry must hold, as the key history shows them."""
    return {
        "device": new.device_id,
        "key_number": new.number,
        "public_key": b64url_encode(bytes(new.public_key)),
        "key_sha256": fingerprint(bytes(new.public_key)),
        "previous_key_number": old.number,
        "previous_key_sha256": fingerprint(bytes(old.public_key)),
        "at": platform_timestamp(new.valid_from),
    }


def check_rotations(rows: list[EntryRow]) -> Iterator[Problem]:
    """Each rotation entry equals the key history: the key it retires, the one it makes."""
    ids = [row.entry_id for row in rows]
    made = {
        key.valid_from_entry_id: key
        for key in DeviceKey.objects.filter(valid_from_entry_id__in=ids)
    }
    retired = {
        key.retired_entry_id: key for key in DeviceKey.objects.filter(retired_entry_id__in=ids)
    }
    for row in rows:
        claims = _platform_claims(row, "key rotation")
        if isinstance(claims, Problem):
            yield claims
            continue
        new, old = made.get(row.entry_id), retired.get(row.entry_id)
        if new is None or old is None:
            yield Problem(
                row.index,
                f"device {claims.get('device')}'s key history has no key that this rotation "
                f"{'makes' if new is None else 'retires'}",
            )
            continue
        stored = _rotation_as_stored(new, old)
        differing = [
            f"{name} logged {claims.get(name)!r}, stored {value!r}"
            for name, value in stored.items()
            if claims.get(name) != value
        ]
        if old.device_id != new.device_id or old.number != new.number - 1:
            differing.append(f"it retires key #{old.number} of {old.device_id}")
        if old.retired_at != new.valid_from:
            differing.append("the old key's retirement is not the new key's start")
        if (
            new.fingerprint != stored["key_sha256"]
            or old.fingerprint != stored["previous_key_sha256"]
        ):
            differing.append("a stored fingerprint is not the SHA-256 of its key")
        if new.requested_by_previous_key != ("request" in claims):
            differing.append("whether the previous key asked for it")
        if "request" in claims:
            try:
                rotation_request_check(
                    str(claims["request"]).encode("ascii", "replace"),
                    device_id=new.device_id,
                    current_public=bytes(old.public_key),
                    new_public=bytes(new.public_key),
                )
            except KeyFormatError as error:
                differing.append(str(error))
        if differing:
            yield Problem(
                row.index,
                f"the key history of {new.device_id} differs from this rotation: "
                + "; ".join(differing),
            )
