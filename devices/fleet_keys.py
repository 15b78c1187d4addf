"""The simulated fleet's device keys: load them, registering and creating what is missing.

Shared by ``manage.py simulate`` and the demo, which registers the fleet's
devices before the simulator starts so that shipments can watch them from
their first reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.keys import KeyFormatError, load_private_key, raw_public_key
from devices.models import Device
from devices.services import DeviceError, device_key_path, device_provision, device_register
from devices.simulator.fleet import DeviceInfo


class FleetKeyError(ValueError):
    """A device's key cannot be loaded or created; the message says which and why."""


def fleet_keys(
    device_infos: Iterable[DeviceInfo],
    key_dir: Path,
    *,
    provision: bool,
    report: Callable[[str], object] = lambda line: None,
) -> dict[str, Ed25519PrivateKey]:
    """Each device's private key by device id.

    With ``provision``, a key file whose device is not registered is
    registered, and a device with neither is created (key file and
    registration); without it every key file must exist and the database is
    not used.
    """
    infos = list(device_infos)
    keys = {}
    registered: set[str] = set()
    if provision:
        ids = [info.device for info in infos]
        registered = set(Device.objects.filter(pk__in=ids).values_list("pk", flat=True))
    for info in infos:
        path = device_key_path(key_dir, info.device)
        try:
            if path.exists():
                key = load_private_key(path)
                if provision and info.device not in registered:
                    device_register(
                        device_id=info.device,
                        public_key=raw_public_key(key),
                        kind=info.kind,
                        vehicle=info.truck,
                    )
                    report(f"registered {info.device} with the key in {path}")
            elif not provision:
                raise FleetKeyError(f"{path} does not exist and --no-provision was given")
            elif info.device in registered:
                raise FleetKeyError(
                    f"{info.device} is registered but its private key {path} is missing; "
                    "use another --truck-prefix or --key-dir"
                )
            else:
                path = device_provision(
                    device_id=info.device, kind=info.kind, vehicle=info.truck, key_dir=key_dir
                )
                key = load_private_key(path)
                report(f"provisioned {info.device}; key in {path}")
        except FleetKeyError:
            raise
        except (DeviceError, KeyFormatError, ValueError) as error:
            raise FleetKeyError(f"{info.device}: {error}") from None
        keys[info.device] = key
    return keys
