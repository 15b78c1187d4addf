from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from devices.keys import KeyFormatError, fingerprint, parse_public_key
from devices.models import Device
from devices.services import DeviceError, device_register


class Command(BaseCommand):
    help = "Register a device whose Ed25519 key pair was made on the device (PEM or JWK)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("device_id")
        parser.add_argument("--public-key", type=Path, required=True, help="PEM or JWK file")
        parser.add_argument("--vehicle", required=True)
        parser.add_argument(
            "--kind", choices=Device.Kind.values, default=Device.Kind.INDEPENDENT_LOGGER
        )

    def handle(self, *args, **options) -> None:
        try:
            raw = parse_public_key(options["public_key"].read_bytes())
            device_register(
                device_id=options["device_id"],
                public_key=raw,
                kind=options["kind"],
                vehicle=options["vehicle"],
            )
        except OSError as error:
            raise CommandError(f"cannot read {options['public_key']}: {error.strerror}") from None
        except (KeyFormatError, DeviceError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"registered {options['device_id']}, key SHA-256 {fingerprint(raw)}")
