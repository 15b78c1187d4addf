"""Webhook endpoints and deliveries through the API: a party's managers manage
its own, nobody else's; the secret is shown once; staff see all."""

import pytest

from coldchain.models import Membership, WebhookDelivery, WebhookEndpoint
from coldchain.webhooks.deliveries import webhook_events_record
from coldchain.webhooks.endpoints import webhook_endpoint_create
from tests.coldchain.api.conftest import client_for
from tests.shipment_factories import make_user

pytestmark = pytest.mark.django_db
API = "/api/v1/webhooks/"
URL = "https://erp.example.com/hooks/coldchain"


def create(user, **body):
    values = {"url": URL, "event_types": ["alert.opened"]} | body
    return client_for(user).post(API, values, format="json")


def test_a_manager_creates_an_endpoint_and_sees_the_secret_once(world):
    manager = world.a.users["carrier"]
    response = create(manager)
    assert response.status_code == 201, response.content
    created = response.json()
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert created["secret"] == endpoint.secret
    assert endpoint.party == world.a.shipment.carrier
    listed = client_for(manager).get(API).json()["results"]
    assert [e["id"] for e in listed] == [endpoint.pk]
    assert "secret" not in listed[0]
    assert "secret" not in client_for(manager).get(f"{API}{endpoint.pk}/").json()


@pytest.mark.parametrize("role", [Membership.Role.OPERATOR, Membership.Role.VIEWER])
def test_operators_and_viewers_neither_list_nor_create_endpoints(world, role):
    user = make_user(world.a.shipment.carrier, role=role)
    for response in (client_for(user).get(API), create(user)):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


def test_an_auditor_reads_every_endpoint_but_creates_none(world):
    webhook_endpoint_create(party=world.a.shipment.carrier, url=URL, event_types=["*"])
    assert len(client_for(world.auditor).get(API).json()["results"]) == 1
    assert create(world.auditor).status_code == 403


def test_staff_see_every_partys_endpoints(world):
    for side in (world.a, world.b):
        webhook_endpoint_create(party=side.shipment.bank, url=URL, event_types=["*"])
    assert len(client_for(world.staff).get(API).json()["results"]) == 2


def test_another_partys_endpoint_is_not_found(world):
    endpoint, _ = webhook_endpoint_create(party=world.a.shipment.bank, url=URL, event_types=["*"])
    client = client_for(world.b.users["bank"])
    assert client.get(f"{API}{endpoint.pk}/").status_code == 404
    assert client.patch(f"{API}{endpoint.pk}/", {"active": False}, format="json").status_code == 404
    assert client.delete(f"{API}{endpoint.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://erp.example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"event_types": ["shipment.exploded"]}, "event_types"),
        ({"event_types": []}, "event_types"),
    ],
)
def test_a_wrong_url_or_event_type_names_the_field(world, body, field):
    response = create(world.a.users["carrier"], **body)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not WebhookEndpoint.objects.exists()


def test_a_manager_changes_the_event_types(world):
    endpoint, _ = webhook_endpoint_create(
        party=world.a.shipment.carrier, url=URL, event_types=["*"]
    )
    response = client_for(world.a.users["carrier"]).patch(
        f"{API}{endpoint.pk}/", {"event_types": ["alert.closed"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["event_types"] == ["alert.closed"]


def test_deleting_an_endpoint_deactivates_it(world):
    endpoint, _ = webhook_endpoint_create(
        party=world.a.shipment.carrier, url=URL, event_types=["*"]
    )
    response = client_for(world.a.users["carrier"]).delete(f"{API}{endpoint.pk}/")
    assert response.status_code == 204
    endpoint.refresh_from_db()
    assert not endpoint.active


def record_delivery(party, shipment) -> WebhookDelivery:
    webhook_endpoint_create(party=party, url=URL, event_types=["*"])
    (delivery,) = webhook_events_record(
        shipment=shipment,
        event_type="shipment.status_changed",
        payload={"reference": shipment.reference},
        key=f"{shipment.reference}/test",
    )
    return delivery


def test_a_manager_lists_the_deliveries_of_its_endpoints_with_their_attempts(world):
    mine = record_delivery(world.a.shipment.carrier, world.a.shipment)
    record_delivery(world.b.shipment.carrier, world.b.shipment)
    (listed,) = (
        client_for(world.a.users["carrier"]).get("/api/v1/webhook-deliveries/").json()["results"]
    )
    assert (listed["id"], listed["status"], listed["attempts"]) == (mine.pk, "pending", [])
    assert world.a.shipment.reference in listed["body"]


def test_a_manager_redelivers_a_delivery_of_its_own(world):
    delivery = record_delivery(world.a.shipment.carrier, world.a.shipment)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.GIVEN_UP)
    url = f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/"
    assert client_for(world.b.users["carrier"]).post(url).status_code == 404
    response = client_for(world.a.users["carrier"]).post(url)
    assert response.status_code == 202
    assert response.json()["status"] == WebhookDelivery.Status.PENDING


def test_an_auditor_may_not_redeliver(world):
    delivery = record_delivery(world.a.shipment.carrier, world.a.shipment)
    url = f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/"
    assert client_for(world.auditor).post(url).status_code == 403


@pytest.mark.parametrize("path", ["webhooks/", "webhook-deliveries/"])
def test_anonymous_requests_for_webhooks_are_told_to_authenticate(db, path):
    response = client_for(None).get(f"/api/v1/{path}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
