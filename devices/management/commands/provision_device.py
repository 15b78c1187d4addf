from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devices.models import Device
from devices.services import DeviceError, device_provision


class Command(BaseCommand):
    help = "Create a device key pair, register its public key and write the private key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("device_id")
        parser.add_argument("--vehicle", required=True)
        parser.add_argument(
            "--kind", choices=Device.Kind.values, default=Device.Kind.INDEPENDENT_LOGGER
        )
        parser.add_argument("--key-dir", type=Path, default=settings.DEVICE_KEY_DIR)

    def handle(self, *args, **options) -> None:
        try:
            path = device_provision(
                device_id=options["device_id"],
                kind=options["kind"],
                vehicle=options["vehicle"],
                key_dir=options["key_dir"],
            )
        except DeviceError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"registered {options['device_id']}; private key written to {path}")
