from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devices.keys import KeyFormatError, parse_public_key
from devices.services import DeviceError, device_key_renew, device_key_rotate


class Command(BaseCommand):
    help = (
        "Give a device a new Ed25519 key: a public key made on the device (PEM or JWK), "
        "ideally with a rotation request signed by its current key, or (--generate) a key "
        "pair made here whose private key replaces the device's key file."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("device_id")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--public-key", type=Path, help="PEM or JWK file of the new key")
        source.add_argument(
            "--generate",
            action="store_true",
            help="Make the key pair here and replace KEY_DIR/DEVICE_ID.pem",
        )
        parser.add_argument(
            "--request",
            type=Path,
            help="Proof of possession: a rotation request (compact JWS) signed by the current key",
        )
        parser.add_argument("--key-dir", type=Path, default=settings.DEVICE_KEY_DIR)

    def handle(self, *args, **options) -> None:
        device_id = options["device_id"]
        if options["generate"] and options["request"]:
            raise CommandError("--request goes with --public-key; --generate signs its own")
        path = None
        try:
            if options["generate"]:
                key, path = device_key_renew(device_id=device_id, key_dir=options["key_dir"])
            else:
                key = device_key_rotate(
                    device_id=device_id,
                    public_key=parse_public_key(_read(options["public_key"])),
                    request=_read(options["request"]) if options["request"] else None,
                )
        except (KeyFormatError, DeviceError) as error:
            raise CommandError(str(error)) from None
        proof = (
            f"requested by key #{key.number - 1}"
            if key.requested_by_previous_key
            else "no proof of possession"
        )
        self.stdout.write(
            f"rotated {device_id} to key #{key.number}, key SHA-256 {key.fingerprint} "
            f"({proof}), logged as a device.key-rotated entry"
            + (f"; private key written to {path}" if path else "")
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
