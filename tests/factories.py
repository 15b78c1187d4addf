"""Factories: devices with real key pairs, and signed readings."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.keys import raw_public_key, rotation_request_sign
from devices.models import Device, DeviceKey
from devices.services import device_key_rotate, device_register
from devices.wire import format_timestamp, sign_compact, sign_reading

_numbers = itertools.count(1)


@dataclass
class DeviceWithKey:
    device: Device
    private_key: Ed25519PrivateKey

    @property
    def id(self) -> str:
        return self.device.id

    def reading(self, seq: int, *, ts: datetime | None = None, **channels) -> dict:
        moment = ts or datetime(2026, 1, 5, tzinfo=UTC) + timedelta(seconds=60 * seq)
        return {
            "v": 1,
            "device": self.id,
            "seq": seq,
            "ts": format_timestamp(moment),
            "temp_c": 4.5,
            **channels,
        }

    def signed(self, seq: int, *, key: Ed25519PrivateKey | None = None, **kwargs) -> bytes:
        return sign_reading(key or self.private_key, self.reading(seq, **kwargs))

    def rotate(self, *, request: bool = True) -> Ed25519PrivateKey:
        """Rotate to a fresh key pair (asked for by the current key unless ``request``
        is False); returns the retired private key, for readings signed before."""
        old, new = self.private_key, Ed25519PrivateKey.generate()
        device_key_rotate(
            device_id=self.id,
            public_key=raw_public_key(new),
            request=rotation_request_sign(old, self.id, raw_public_key(new)) if request else None,
        )
        self.private_key = new
        self.device.refresh_from_db()
        return old

    @property
    def keys(self) -> list[DeviceKey]:
        return list(DeviceKey.objects.filter(device_id=self.id).order_by("number"))

    def signed_payload(self, payload: bytes) -> bytes:
        return sign_compact(self.private_key, self.id, payload)


def make_device(
    *, device_id: str | None = None, vehicle: str = "truck-001", kind: str = "independent_logger"
) -> DeviceWithKey:
    private_key = Ed25519PrivateKey.generate()
    device = device_register(
        device_id=device_id or f"dev-{next(_numbers):05d}",
        public_key=raw_public_key(private_key),
        kind=kind,
        vehicle=vehicle,
    )
    return DeviceWithKey(device, private_key)


def drive_north(
    logger: DeviceWithKey, *, until: datetime, speed_kmh: float, end_lat: float
) -> None:
    """Ingest an hour of the logger's positioned readings, one every 10 minutes,
    heading north along 9.19° E at ``speed_kmh`` and reaching ``end_lat`` at ``until``."""
    km_per_degree = 111.195
    readings_ingest(
        messages=[
            IncomingMessage(
                logger.signed(
                    seq,
                    ts=until - timedelta(minutes=ago),
                    lat=end_lat - speed_kmh * ago / 60 / km_per_degree,
                    lon=9.19,
                ),
                until,
                SOURCE_HTTP,
            )
            for seq, ago in enumerate(range(60, -1, -10), start=1)
        ]
    )
