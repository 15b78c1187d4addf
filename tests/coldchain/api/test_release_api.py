"""Signing the release through the API: a manager of the receiver, re-entering
the password, on a delivered shipment; anyone else is refused."""

import pytest

from coldchain.models import Membership, ReleaseSignature, Shipment
from tests.coldchain.api.conftest import client_for
from tests.contract_factories import make_contract_shipment, make_delivered
from tests.shipment_factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
RELEASED = {"password": PASSWORD, "decision": "released"}


@pytest.fixture
def delivered() -> Shipment:
    shipment, _ = make_delivered([5.0] * 180)
    return shipment


def release_url(shipment: Shipment) -> str:
    return f"/api/v1/shipments/{shipment.reference}/release/"


def sign(user, shipment: Shipment, **body):
    return client_for(user).post(release_url(shipment), RELEASED | body, format="json")


def test_the_receivers_manager_signs_the_release_with_the_password(delivered):
    manager = make_user(delivered.receiver)
    response = sign(manager, delivered)
    assert response.status_code == 201, response.content
    signature = response.json()
    assert signature["decision"] == "released"
    assert signature["signer"] == manager.username
    assert signature["manifestation"].startswith(f"Signed by {manager.get_full_name()}")
    delivered.refresh_from_db()
    assert delivered.status == Shipment.Status.RELEASED


def test_every_party_of_the_shipment_reads_the_signed_release(delivered):
    sign(make_user(delivered.receiver), delivered)
    response = client_for(make_user(delivered.bank)).get(release_url(delivered))
    assert response.status_code == 200
    assert response.json()["released_fraction"] == "1.0000"


def test_an_unsigned_release_is_not_found(delivered):
    response = client_for(make_user(delivered.receiver)).get(release_url(delivered))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_wrong_password_is_refused_and_nothing_is_signed(delivered):
    response = sign(make_user(delivered.receiver), delivered, password="not-it")
    assert response.status_code == 403
    assert "password" in response.json()["error"]["message"]
    assert not ReleaseSignature.objects.filter(shipment=delivered).exists()


@pytest.mark.parametrize(
    ("role", "membership"),
    [
        ("receiver", Membership.Role.OPERATOR),
        ("receiver", Membership.Role.VIEWER),
        ("carrier", Membership.Role.MANAGER),
        ("shipper", Membership.Role.MANAGER),
    ],
)
def test_only_the_receivers_manager_may_sign(delivered, role, membership):
    user = make_user(getattr(delivered, role), role=membership)
    response = sign(user, delivered)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_staff_may_not_sign_for_the_receiver(delivered):
    staff = make_user(None)
    staff.is_staff = True
    staff.save()
    assert sign(staff, delivered).status_code == 403


def test_another_shipments_receiver_gets_not_found(delivered):
    other, _ = make_contract_shipment()
    assert sign(make_user(other.receiver), delivered).status_code == 404


def test_a_partial_release_without_fraction_is_invalid(delivered):
    response = sign(
        make_user(delivered.receiver), delivered, decision="partially_released", reason="crushed"
    )
    assert response.status_code == 400
    assert "fraction" in response.json()["error"]["message"]


def test_a_partial_release_records_the_fraction_and_reason(delivered):
    response = sign(
        make_user(delivered.receiver),
        delivered,
        decision="partially_released",
        fraction="0.75",
        reason="two pallets crushed",
    )
    assert response.status_code == 201
    assert (response.json()["released_fraction"], response.json()["reason"]) == (
        "0.7500",
        "two pallets crushed",
    )


def test_a_load_in_transit_cannot_be_released():
    shipment, _ = make_contract_shipment()
    response = sign(make_user(shipment.receiver), shipment)
    assert response.status_code == 400
    assert "delivered" in response.json()["error"]["message"]


def test_an_unknown_decision_names_the_field(delivered):
    response = sign(make_user(delivered.receiver), delivered, decision="maybe")
    assert response.status_code == 400
    assert "decision" in response.json()["error"]["fields"]


def test_signing_twice_is_refused(delivered):
    manager = make_user(delivered.receiver)
    assert sign(manager, delivered).status_code == 201
    assert sign(manager, delivered).status_code == 400


def test_password_guesses_at_the_release_are_rate_limited_but_reading_it_is_not(
    delivered, settings
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "2/minute", "ingest": "1/minute"},
    }
    manager = make_user(delivered.receiver)
    for _ in range(2):
        assert sign(manager, delivered, password="guess").status_code == 403
    response = sign(manager, delivered)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert not ReleaseSignature.objects.filter(shipment=delivered).exists()
    for _ in range(3):
        assert client_for(manager).get(release_url(delivered)).status_code == 404


def test_anonymous_signing_is_told_to_authenticate(delivered):
    response = sign(None, delivered)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
