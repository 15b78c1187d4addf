from django.core.management.base import BaseCommand, CommandError

from devices.models import Device
from devices.services import device_revoke


class Command(BaseCommand):
    help = "Revoke a device: every message processed afterwards is rejected."

    def add_arguments(self, parser) -> None:
        parser.add_argument("device_id")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **options) -> None:
        try:
            device = device_revoke(device_id=options["device_id"], reason=options["reason"])
        except Device.DoesNotExist:
            raise CommandError(f"no device {options['device_id']}") from None
        self.stdout.write(f"revoked {device.id} at {device.revoked_at.isoformat()}")
