"""The ledger explorer's Verify button checks a reading in the browser itself."""

import base64
import json

import pytest
from django.utils import timezone
from playwright.sync_api import Route, expect

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.models import Reading
from ledger.cosignature import cosign, witness_vkey_from_private_key
from ledger.models import Checkpoint, Cosignature
from ledger.services import log_seal
from tests.factories import make_device
from tests.frontend.browser.conftest import log_in, screenshot
from tests.shipment_factories import make_shipment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sealed_reading(carrier) -> int:
    """The ledger index of a reading of one of the carrier's devices, in a signed checkpoint
    of a tree big enough for a proof of several steps."""
    logger = make_device(device_id="truck-009-logger")
    make_shipment(carrier=carrier, devices=[logger.device])
    readings_ingest(
        messages=[
            IncomingMessage(logger.signed(seq, temp_c=4.0 + seq / 10), timezone.now(), SOURCE_HTTP)
            for seq in range(1, 12)
        ]
    )
    log_seal()
    return Reading.objects.get(device=logger.device, seq=5).ledger_entry.index


WITNESS = "witness.example/w1"
WITNESS_SEED = bytes(range(32))


@pytest.fixture
def witnessed(settings, sealed_reading) -> int:
    """The latest checkpoint cosigned by a witness the log submits to."""
    settings.LEDGER_WITNESSES = [
        f"{witness_vkey_from_private_key(WITNESS, WITNESS_SEED)}=http://127.0.0.1:9/"
    ]
    checkpoint = Checkpoint.objects.latest("size")
    text = checkpoint.note.split("\n\n")[0] + "\n"
    Cosignature.objects.create(
        checkpoint=checkpoint,
        witness=WITNESS,
        signature_line=cosign(text, WITNESS_SEED, WITNESS, 1_767_600_000),
    )
    return sealed_reading


def flip_first_proof_byte(route: Route) -> None:
    response = route.fetch()
    body = response.json()
    first = bytearray(base64.b64decode(body["proof"][0]))
    first[0] ^= 0x01
    body["proof"][0] = base64.b64encode(bytes(first)).decode()
    route.fulfill(response=response, body=json.dumps(body))


def test_verify_proves_a_reading_against_the_signed_checkpoint(page, carrier_user, sealed_reading):
    log_in(page, "dispatcher")
    page.goto("/ledger/")
    page.click(f'button.verify-entry[data-index="{sealed_reading}"]')
    expect(page.locator("#verify-verdict")).to_contain_text(f"Verified: entry {sealed_reading}")
    steps = page.locator("#verify-steps li")
    expect(steps.filter(has_text="Checkpoint signature verifies")).to_have_count(1)
    expect(steps.filter(has_text='"seq":5')).to_have_count(1)
    expect(page.locator("#verify-steps li.fail")).to_have_count(0)


def test_verify_reports_failure_on_a_tampered_inclusion_proof(page, carrier_user, sealed_reading):
    log_in(page, "dispatcher")
    page.route("**/api/v1/ledger/proof/inclusion*", flip_first_proof_byte)
    page.goto(f"/ledger/?verify={sealed_reading}")
    expect(page.locator("#verify-verdict")).to_contain_text("Verification failed")
    expect(page.locator("#verify-steps li.fail")).to_contain_text("not the checkpoint's")


def test_verify_reports_failure_on_a_checkpoint_with_a_forged_signature(
    page, carrier_user, sealed_reading
):
    def forge_signature(route: Route) -> None:
        response = route.fetch()
        text, signature = response.text().rsplit(" ", 1)
        forged = bytearray(base64.b64decode(signature))
        forged[10] ^= 0x01
        route.fulfill(
            response=response, body=f"{text} {base64.b64encode(bytes(forged)).decode()}\n"
        )

    log_in(page, "dispatcher")
    page.route("**/api/v1/ledger/checkpoint", forge_signature)
    page.goto(f"/ledger/?verify={sealed_reading}")
    expect(page.locator("#verify-verdict")).to_contain_text("Verification failed")
    expect(page.locator("#verify-steps li.fail")).to_contain_text(
        "Ed25519 signature does not verify"
    )


def test_verify_checks_the_cosignature_of_a_known_witness(page, carrier_user, witnessed):
    log_in(page, "dispatcher")
    page.goto(f"/ledger/?verify={witnessed}")
    expect(page.locator("#verify-verdict")).to_contain_text("Verified")
    expect(page.locator("#verify-steps")).to_contain_text(
        f"Witness {WITNESS} cosigned it at 2026-01-05T08:00:00.000Z: "
        "its Ed25519 cosignature verifies"
    )
    screenshot(page, "ledger")


def test_verify_reports_failure_on_a_forged_witness_cosignature(page, carrier_user, witnessed):
    Cosignature.objects.filter(witness=WITNESS).update(
        signature_line=cosign(
            "coldchain.localhost/log\n1\n" + "A" * 43 + "=\n", WITNESS_SEED, WITNESS, 1_767_600_000
        )
    )
    log_in(page, "dispatcher")
    page.goto(f"/ledger/?verify={witnessed}")
    expect(page.locator("#verify-verdict")).to_contain_text("Verification failed")
    expect(page.locator("#verify-steps li.fail")).to_contain_text("cosignature does not verify")
