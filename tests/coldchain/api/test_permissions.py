"""Who sees what through the API: a party its own shipments' rows, staff and
auditors everything, nobody else anything; another party's row is a 404."""

from datetime import timedelta

import pytest

from coldchain.models import DeviceAttachment
from devices.models import Reading
from tests.coldchain.api.conftest import client_for
from tests.coldchain.api.world import ROLES, Side, store_readings
from tests.shipment_factories import make_shipment, make_user

pytestmark = pytest.mark.django_db

SCOPED = ["shipments", "devices", "readings", "assessments", "alerts", "products"]
KEYS = {"shipments": "reference", "products": "code", "parties": "slug"}
PARTY_USERS = [("a", role) for role in ROLES] + [("b", "carrier")]


def own(side: Side, resource: str) -> set:
    return {
        "shipments": {side.shipment.reference},
        "devices": {side.device.id},
        "readings": set(
            Reading.objects.filter(device_id=side.device.id).values_list("id", flat=True)
        ),
        "assessments": {side.assessment.id},
        "alerts": {side.alert.id},
        "products": {side.shipment.product.code},
    }[resource]


def listed(client, resource: str) -> set:
    response = client.get(f"/api/v1/{resource}/")
    assert response.status_code == 200, response.content
    return {item[KEYS.get(resource, "id")] for item in response.json()["results"]}


def other(world, side_name: str) -> Side:
    return world.b if side_name == "a" else world.a


@pytest.mark.parametrize(("side_name", "role"), PARTY_USERS)
@pytest.mark.parametrize("resource", SCOPED)
def test_a_party_lists_only_the_rows_of_its_own_shipments(world, side_name, role, resource):
    side = getattr(world, side_name)
    assert listed(client_for(side.users[role]), resource) == own(side, resource)


@pytest.mark.parametrize(("side_name", "role"), PARTY_USERS)
@pytest.mark.parametrize("resource", SCOPED)
def test_another_partys_row_is_not_found_rather_than_forbidden(world, side_name, role, resource):
    side = getattr(world, side_name)
    client = client_for(side.users[role])
    (mine,) = sorted(own(side, resource))[:1]
    (theirs,) = sorted(own(other(world, side_name), resource))[:1]
    assert client.get(f"/api/v1/{resource}/{mine}/").status_code == 200
    response = client.get(f"/api/v1/{resource}/{theirs}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("who", ["staff", "auditor"])
@pytest.mark.parametrize("resource", SCOPED)
def test_staff_and_auditors_see_every_shipments_rows(world, who, resource):
    seen = listed(client_for(getattr(world, who)), resource)
    assert seen == own(world.a, resource) | own(world.b, resource)


@pytest.mark.parametrize("resource", SCOPED)
def test_a_user_without_a_party_sees_nothing(world, resource):
    client = client_for(world.partyless)
    assert listed(client, resource) == set()
    (one,) = sorted(own(world.a, resource))[:1]
    assert client.get(f"/api/v1/{resource}/{one}/").status_code == 404


@pytest.mark.parametrize("resource", [*SCOPED, "parties", "models"])
def test_anonymous_requests_are_told_to_authenticate(world, resource):
    response = client_for(None).get(f"/api/v1/{resource}/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_party_sees_only_itself_among_parties(world):
    carrier = world.a.shipment.carrier
    assert listed(client_for(world.a.users["carrier"]), "parties") == {carrier.slug}


def test_staff_see_every_party(world):
    seen = listed(client_for(world.staff), "parties")
    assert {world.a.shipment.carrier.slug, world.b.shipment.carrier.slug} <= seen


def test_every_party_user_sees_the_registered_models(world):
    for side_name, role in PARTY_USERS:
        user = getattr(world, side_name).users[role]
        assert len(listed(client_for(user), "models")) == 2


@pytest.mark.parametrize("resource", ["readings", "assessments", "alerts", "shipments"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_evidence_is_read_only_even_for_staff(world, resource, method):
    (one,) = sorted(own(world.a, resource))[:1]
    client = client_for(world.staff)
    url = f"/api/v1/{resource}/" if method == "post" else f"/api/v1/{resource}/{one}/"
    response = getattr(client, method)(url, {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def reading_seqs(user) -> set[int]:
    return {r["seq"] for r in client_for(user).get("/api/v1/readings/").json()["results"]}


def test_a_moved_device_shows_each_party_only_the_readings_of_its_own_load(world):
    device, first = world.a.device, world.a.shipment
    moved_at = first.departure_at + timedelta(minutes=5, seconds=30)
    DeviceAttachment.objects.filter(shipment=first).update(attached_until=moved_at)
    second = make_shipment(departure_at=moved_at)
    DeviceAttachment.objects.create(shipment=second, device=device.device, attached_from=moved_at)
    store_readings(device, range(6, 9))
    assert reading_seqs(world.a.users["carrier"]) == {1, 2, 3, 4, 5}
    assert reading_seqs(make_user(second.carrier)) == {6, 7, 8}
