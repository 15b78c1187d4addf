"""The receiver's release decision, signed on the shipment page with the password re-entered."""

from decimal import Decimal

import pytest

from coldchain.models import Membership, Party, ReleaseSignature
from tests.contract_factories import make_delivered
from tests.shipment_factories import PASSWORD, make_party, make_user

pytestmark = pytest.mark.django_db

CLEAN = [5.0] * 180
RELEASE_FORM = 'action="/shipments/{}/release"'


@pytest.fixture
def delivered():
    shipment, _ = make_delivered(CLEAN)
    return shipment


def sign(client, user, shipment, **fields):
    client.force_login(user)
    return client.post(f"/shipments/{shipment.reference}/release", fields)


def test_the_receivers_manager_is_offered_the_release_form(client, delivered):
    client.force_login(make_user(delivered.receiver))
    html = client.get(f"/shipments/{delivered.reference}/").content.decode()
    assert RELEASE_FORM.format(delivered.reference) in html


@pytest.mark.parametrize(
    "who", ["receiver_operator", "receiver_viewer", "carrier_manager", "shipper_manager"]
)
def test_nobody_else_is_offered_the_release_form(client, delivered, who):
    party_name, role = who.split("_")
    client.force_login(make_user(getattr(delivered, party_name), role=role))
    html = client.get(f"/shipments/{delivered.reference}/").content.decode()
    assert RELEASE_FORM.format(delivered.reference) not in html
    assert "Awaiting the decision of a manager of" in html


def test_a_partial_release_is_signed_and_shown_with_name_time_and_meaning(client, delivered):
    manager = make_user(delivered.receiver)
    response = sign(
        client,
        manager,
        delivered,
        decision="partially_released",
        released_percent="40",
        reason="Two pallets crushed",
        password=PASSWORD,
    )
    assert response.status_code == 302
    signature = ReleaseSignature.objects.get(shipment=delivered)
    assert signature.released_fraction == Decimal("0.4")
    html = client.get(response["Location"]).content.decode()
    assert f"Signed by {manager.get_full_name()} on" in html
    assert "Meaning: I release 40.00 % of this load and reject the rest." in html
    assert "Reason: Two pallets crushed" in html
    assert RELEASE_FORM.format(delivered.reference) not in html


def test_a_wrong_password_shows_the_refusal_and_signs_nothing(client, delivered):
    response = sign(
        client, make_user(delivered.receiver), delivered, decision="released", password="guess"
    )
    assert response.status_code == 403
    assert "The password is not correct: the release was not signed." in response.content.decode()
    assert not ReleaseSignature.objects.filter(shipment=delivered).exists()
    delivered.refresh_from_db()
    assert delivered.status == "delivered"


def test_a_rejection_without_a_reason_is_refused_with_the_services_message(client, delivered):
    response = sign(
        client, make_user(delivered.receiver), delivered, decision="rejected", password=PASSWORD
    )
    assert response.status_code == 400
    assert "a partial release or a rejection needs a reason" in response.content.decode()
    assert not ReleaseSignature.objects.filter(shipment=delivered).exists()


def test_the_carriers_manager_cannot_sign_even_with_the_right_password(client, delivered):
    response = sign(
        client, make_user(delivered.carrier), delivered, decision="released", password=PASSWORD
    )
    assert response.status_code == 403
    assert "Only a manager of the receiver" in response.content.decode()
    assert not ReleaseSignature.objects.filter(shipment=delivered).exists()


def test_another_partys_user_finds_no_shipment_to_sign(client, delivered):
    stranger = make_user(make_party(Party.Kind.RECEIVER), role=Membership.Role.MANAGER)
    response = sign(client, stranger, delivered, decision="released", password=PASSWORD)
    assert response.status_code == 404
    assert not ReleaseSignature.objects.filter(shipment=delivered).exists()
