"""Device lifecycle: registration, provisioning, key rotation, revocation."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from devices.keys import (
    fingerprint,
    generate_private_key,
    load_private_key,
    raw_public_key,
    rotation_request_check,
    rotation_request_sign,
    write_private_key,
)
from devices.models import Device, DeviceKey
from devices.wire import DEVICE_ID_PATTERN, b64url_encode
from ledger.platform_entries import platform_entry_sign
from ledger.services import entry_append

DEVICE_REGISTERED = "device.registered"
DEVICE_KEY_ROTATED = "device.key-rotated"
DEVICE_REVOKED = "device.revoked"


class DeviceError(ValueError):
    pass


def _check_device_id(device_id: str) -> None:
    if not DEVICE_ID_PATTERN.match(device_id):
        raise DeviceError(
            f"device id {device_id!r} must be 1-64 characters of letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )


def device_register(*, device_id: str, public_key: bytes, kind: str, vehicle: str) -> Device:
    """Register a device whose key pair was made on the device itself."""
    _check_device_id(device_id)
    if len(public_key) != 32:
        raise DeviceError("an Ed25519 public key is 32 bytes")
    if kind not in Device.Kind.values:
        raise DeviceError(f"kind must be one of {', '.join(Device.Kind.values)}")
    if not vehicle:
        raise DeviceError("a device belongs to a vehicle")
    with transaction.atomic():
        if Device.objects.filter(pk=device_id).exists():
            raise DeviceError(f"device {device_id} is already registered")
        # The registration is itself a log entry: which key spoke for which
        # device is provable, like every reading it signs.
        entry = entry_append(
            data=platform_entry_sign(
                kind=DEVICE_REGISTERED,
                claims={
                    "device": device_id,
                    "public_key": b64url_encode(public_key),
                    "key_sha256": fingerprint(public_key),
                    "device_kind": kind,
                    "vehicle": vehicle,
                },
            ),
            kind=DEVICE_REGISTERED,
        )
        device = Device.objects.create(
            id=device_id,
            public_key=public_key,
            kind=kind,
            vehicle=vehicle,
            registration_entry=entry,
        )
        DeviceKey.objects.create(
            device=device,
            number=1,
            public_key=public_key,
            fingerprint=fingerprint(public_key),
            valid_from=device.registered_at,
            valid_from_entry=entry,
        )
        return device


def device_key_path(key_dir: Path, device_id: str) -> Path:
    return key_dir / f"{device_id}.pem"


def device_provision(*, device_id: str, kind: str, vehicle: str, key_dir: Path) -> Path:
    """Create a key pair, register the public key, write the private key for the device.

    Returns the private key's path. The key file is written only after the
    registration succeeded, so a failed registration leaves no orphan key.
    """
    _check_device_id(device_id)
    path = device_key_path(key_dir, device_id)
    if path.exists():
        raise DeviceError(f"{path} exists; refusing to overwrite a device key")
    private_key = generate_private_key()
    with transaction.atomic():
        device_register(
            device_id=device_id, public_key=raw_public_key(private_key), kind=kind, vehicle=vehicle
        )
        write_private_key(path, private_key)
    return path


def device_key_rotate(
    *, device_id: str, public_key: bytes, request: bytes | None = None
) -> DeviceKey:
    """Replace a device's key with ``public_key``; the new key's history row.

    ``request`` is the device's proof of possession: a rotation request
    signed by its current key (``devices.keys.rotation_request_sign``). It is
    checked and logged in the entry; without it the entry says that only the
    platform vouches for the new key (a device whose key is lost can still be
    rotated, visibly). The old key keeps verifying readings whose signed ts
    is before the rotation: store-and-forward readings delivered late.
    """
    if len(public_key) != 32:
        raise DeviceError("an Ed25519 public key is 32 bytes")
    with transaction.atomic():
        # The device's row lock orders this against ingest, which re-reads the
        # current key under the same lock (see devices.ingest).
        device = Device.objects.select_for_update().filter(pk=device_id).first()
        if device is None:
            raise DeviceError(f"no device {device_id}")
        if device.status == Device.Status.REVOKED:
            raise DeviceError(
                f"device {device_id} is revoked; a revoked device gets no new key "
                "(register the replacement under a new device id)"
            )
        keys = list(DeviceKey.objects.filter(device=device).order_by("number"))
        current = keys[-1]
        reused = next((key for key in keys if bytes(key.public_key) == public_key), None)
        if reused is not None:
            # A key that comes back would make its old and new readings indistinguishable.
            raise DeviceError(
                f"that key (SHA-256 {fingerprint(public_key)}) was already key "
                f"#{reused.number} of {device_id}; a rotation needs a new key"
            )
        if request is not None:
            rotation_request_check(
                request,
                device_id=device_id,
                current_public=bytes(current.public_key),
                new_public=public_key,
            )
        at = _rotation_instant(device)
        claims = {
            "device": device_id,
            "key_number": current.number + 1,
            "public_key": b64url_encode(public_key),
            "key_sha256": fingerprint(public_key),
            "previous_key_number": current.number,
            "previous_key_sha256": current.fingerprint,
        }
        if request is not None:
            claims["request"] = request.strip().decode("ascii")
        entry = entry_append(
            data=platform_entry_sign(kind=DEVICE_KEY_ROTATED, claims=claims, at=at),
            kind=DEVICE_KEY_ROTATED,
        )
        current.retired_at = at
        current.retired_entry = entry
        current.save(update_fields=["retired_at", "retired_entry"])
        device.public_key = public_key
        device.save(update_fields=["public_key"])
        return DeviceKey.objects.create(
            device=device,
            number=current.number + 1,
            public_key=public_key,
            fingerprint=fingerprint(public_key),
            valid_from=at,
            valid_from_entry=entry,
            requested_by_previous_key=request is not None,
        )


def _rotation_instant(device: Device) -> datetime:
    """When the old key stops and the new one starts, in the entry's precision.

    Ingest accepts readings dated up to INGEST_MAX_FUTURE_SKEW_S ahead of the
    platform clock, so the old key may already have signed a stored reading
    dated after "now"; the handover comes after the device's latest reading
    so that no stored reading falls outside its key's window. Milliseconds,
    as the signed entry states it, so that the database and the log agree.
    """
    at = datetime.now(UTC)
    if device.last_reading_ts is not None:
        at = max(at, device.last_reading_ts + timedelta(milliseconds=1))
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def device_key_renew(*, device_id: str, key_dir: Path) -> tuple[DeviceKey, Path]:
    """Rotate to a key pair made here and replace the device's private key file.

    The file of the current key, when this machine holds it (a provisioned or
    simulated device), signs the rotation request. The new key is written
    only once the rotation is logged; the old file is replaced, not kept: its
    key verifies nothing dated after the rotation.
    """
    path = device_key_path(key_dir, device_id)
    private_key = generate_private_key()
    new_public = raw_public_key(private_key)
    request = (
        rotation_request_sign(load_private_key(path), device_id, new_public)
        if path.exists()
        else None
    )
    # Written beside the old file first and moved into place only once the
    # rotation has committed: a failed rotation leaves the device its old
    # key, and a crash in between leaves the new key on disk, not lost.
    pending = path.with_name(path.name + ".next")
    write_private_key(pending, private_key)
    with transaction.atomic():
        try:
            key = device_key_rotate(device_id=device_id, public_key=new_public, request=request)
        except Exception:
            pending.unlink(missing_ok=True)
            raise
        transaction.on_commit(lambda: os.replace(pending, path))
    return key, path


def device_revoke(*, device_id: str, reason: str) -> Device:
    """Revoke a device: every message processed after this commits is rejected.

    The ingest path re-reads the status under the device's row lock, so a
    batch already in flight sees the revocation as soon as it commits.
    """
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device_id)
        if device.status == Device.Status.REVOKED:
            return device
        device.status = Device.Status.REVOKED
        device.revoked_at = timezone.now()
        device.revocation_reason = reason[:200]
        device.revocation_entry = entry_append(
            data=platform_entry_sign(
                kind=DEVICE_REVOKED,
                claims={"device": device.id, "reason": device.revocation_reason},
            ),
            kind=DEVICE_REVOKED,
        )
        device.save(update_fields=["status", "revoked_at", "revocation_reason", "revocation_entry"])
    return device
