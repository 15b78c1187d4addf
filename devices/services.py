"""Device lifecycle: registration, provisioning, revocation."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from devices.keys import fingerprint, generate_private_key, raw_public_key, write_private_key
from devices.models import Device
from devices.wire import DEVICE_ID_PATTERN, b64url_encode
from ledger.platform_entries import platform_entry_sign
from ledger.services import entry_append

DEVICE_REGISTERED = "device.registered"
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
        return Device.objects.create(
            id=device_id,
            public_key=public_key,
            kind=kind,
            vehicle=vehicle,
            registration_entry=entry,
        )


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
