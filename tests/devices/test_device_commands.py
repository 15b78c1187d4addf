"""provision_device, register_device and revoke_device."""

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from devices.keys import load_private_key, public_key_jwk, public_key_pem, raw_public_key
from devices.models import Device
from devices.wire import b64url_decode
from ledger.platform_entries import platform_entry_open, platform_public_key
from tests.support import edwards25519

pytestmark = pytest.mark.django_db


def test_provision_registers_the_device_and_writes_a_private_key_only_its_owner_reads(tmp_path):
    call_command(
        "provision_device", "truck-9-logger", "--vehicle", "truck-9", "--key-dir", tmp_path
    )
    key_file = tmp_path / "truck-9-logger.pem"
    device = Device.objects.get(pk="truck-9-logger")
    assert bytes(device.public_key) == raw_public_key(load_private_key(key_file))
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (device.vehicle, device.kind, device.status) == (
        "truck-9",
        "independent_logger",
        "active",
    )


def test_provision_refuses_to_overwrite_an_existing_key(tmp_path):
    (tmp_path / "d1.pem").write_text("keep me")
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("provision_device", "d1", "--vehicle", "t", "--key-dir", tmp_path)
    assert not Device.objects.exists()


@pytest.mark.parametrize("device_id", ["bad/id", "#", "", ".hidden", "x" * 65])
def test_device_ids_that_cannot_be_a_topic_level_are_refused(tmp_path, device_id):
    with pytest.raises(CommandError, match="device id"):
        call_command("provision_device", device_id, "--vehicle", "t", "--key-dir", tmp_path)


@pytest.mark.parametrize("encode", ["pem", "jwk"])
def test_register_accepts_a_key_made_on_the_device(tmp_path, encode):
    raw = raw_public_key(Ed25519PrivateKey.generate())
    key_file = tmp_path / "key"
    if encode == "pem":
        key_file.write_text(public_key_pem(raw))
    else:
        key_file.write_bytes(orjson.dumps(public_key_jwk(raw, "d2")))
    call_command(
        "register_device",
        "d2",
        "--public-key",
        key_file,
        "--vehicle",
        "t",
        "--kind",
        "reefer_controller",
    )
    assert bytes(Device.objects.get(pk="d2").public_key) == raw


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello", "neither a PEM"),
        (b'{"kty":"RSA"}', "OKP"),
        (b'{"kty":"OKP","crv":"Ed25519","x":"AAAA"}', "want 32"),
        (b'{"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA"}', "private key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PEM"),
    ],
)
def test_register_explains_an_unusable_key_file(tmp_path, content, message):
    key_file = tmp_path / "key"
    key_file.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("register_device", "d3", "--public-key", key_file, "--vehicle", "t")


def _mixed_order_key() -> bytes:
    honest = edwards25519.decode_loose(raw_public_key(Ed25519PrivateKey.generate()))
    return edwards25519.encode(edwards25519.point_add(honest, edwards25519.SMALL_ORDER_POINTS[1]))


@pytest.mark.parametrize(
    "raw",
    [*edwards25519.small_order_encodings()[:3], _mixed_order_key()],
    ids=["small-order-1", "small-order-2", "small-order-3", "mixed-order"],
)
def test_register_refuses_a_key_outside_the_prime_order_subgroup(tmp_path, raw):
    key_file = tmp_path / "key.jwk"
    key_file.write_bytes(orjson.dumps(public_key_jwk(raw, "d5")))
    with pytest.raises(CommandError, match="prime-order subgroup"):
        call_command("register_device", "d5", "--public-key", key_file, "--vehicle", "t")
    assert not Device.objects.filter(pk="d5").exists()


def test_register_refuses_a_device_id_already_taken(tmp_path, device):
    key_file = tmp_path / "key.pem"
    key_file.write_text(public_key_pem(raw_public_key(Ed25519PrivateKey.generate())))
    with pytest.raises(CommandError, match="already registered"):
        call_command("register_device", device.id, "--public-key", key_file, "--vehicle", "t")


def test_register_reports_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("register_device", "d4", "--public-key", tmp_path / "nope", "--vehicle", "t")


def test_revoke_marks_the_device_revoked_with_its_reason(device):
    call_command("revoke_device", device.id, "--reason", "probe stolen")
    stored = Device.objects.get(pk=device.id)
    assert (stored.status, stored.revocation_reason) == ("revoked", "probe stolen")
    assert stored.revoked_at is not None


def test_revoke_of_an_unknown_device_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no device"):
        call_command("revoke_device", "nobody", "--reason", "x")


def test_registration_is_a_platform_signed_ledger_entry(tmp_path):
    call_command("provision_device", "d5", "--vehicle", "truck-5", "--key-dir", tmp_path)
    device = Device.objects.get(pk="d5")
    claims = platform_entry_open(bytes(device.registration_entry.data), platform_public_key())
    assert claims["kind"] == device.registration_entry.kind == "device.registered"
    assert (claims["device"], claims["vehicle"]) == ("d5", "truck-5")
    assert b64url_decode(claims["public_key"].encode()) == bytes(device.public_key)


def test_revocation_is_a_platform_signed_ledger_entry(device):
    call_command("revoke_device", device.id, "--reason", "lost at sea")
    stored = Device.objects.get(pk=device.id)
    claims = platform_entry_open(bytes(stored.revocation_entry.data), platform_public_key())
    assert (claims["kind"], claims["device"], claims["reason"]) == (
        "device.revoked",
        device.id,
        "lost at sea",
    )
