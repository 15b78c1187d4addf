"""Acknowledging and commenting on alerts through the API: operators and
managers of the shipment's parties and staff act; viewers and auditors read."""

import pytest

from coldchain.models import Alert, Membership
from tests.coldchain.api.conftest import client_for
from tests.shipment_factories import make_user

pytestmark = pytest.mark.django_db


def post(user, alert: Alert, verb: str, text: str | None = None):
    body = {} if text is None else {"text": text}
    return client_for(user).post(f"/api/v1/alerts/{alert.pk}/{verb}/", body, format="json")


@pytest.mark.parametrize("role", [Membership.Role.OPERATOR, Membership.Role.MANAGER])
def test_an_operator_or_manager_acknowledges_and_gets_the_alert_with_its_notes(world, role):
    alert = world.a.alert
    user = make_user(alert.shipment.carrier, role=role)
    response = post(user, alert, "acknowledge", "on it")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == Alert.Status.ACKNOWLEDGED
    note = body["notes"][-1]
    assert (note["kind"], note["author"], note["text"]) == ("ack", user.username, "on it")
    assert note["ledger_index"] == alert.notes.get(kind="ack").ledger_entry.index


def test_acknowledging_twice_keeps_the_first_acknowledgement(world):
    alert = world.a.alert
    first, second = make_user(alert.shipment.receiver), make_user(alert.shipment.shipper)
    post(first, alert, "acknowledge")
    notes = post(second, alert, "acknowledge").json()["notes"]
    assert [n["author"] for n in notes if n["kind"] == "ack"] == [first.username]


def test_a_viewer_may_not_acknowledge(world):
    viewer = make_user(world.a.shipment.carrier, role=Membership.Role.VIEWER)
    response = post(viewer, world.a.alert, "acknowledge")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_auditor_may_not_acknowledge(world):
    assert post(world.auditor, world.a.alert, "acknowledge").status_code == 403


def test_staff_acknowledge_any_alert(world):
    assert post(world.staff, world.b.alert, "acknowledge").status_code == 200


def test_another_carrier_gets_not_found(world):
    assert post(world.b.users["carrier"], world.a.alert, "acknowledge").status_code == 404
    assert post(world.b.users["carrier"], world.a.alert, "comment", "x").status_code == 404


def test_a_comment_is_added_and_anchored(world):
    alert = world.a.alert
    response = post(world.a.users["receiver"], alert, "comment", "pallet 3 checked: fine")
    assert response.status_code == 201
    assert response.json()["notes"][-1]["text"] == "pallet 3 checked: fine"
    assert alert.notes.latest("id").ledger_entry is not None


def test_an_empty_comment_is_invalid(world):
    response = post(world.a.users["receiver"], world.a.alert, "comment", "   ")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "a comment needs a text",
    }


def test_a_closed_alert_cannot_be_acknowledged(world):
    Alert.objects.filter(pk=world.a.alert.pk).update(status=Alert.Status.CLOSED)
    response = post(world.a.users["carrier"], world.a.alert, "acknowledge")
    assert response.status_code == 400
    assert "closed" in response.json()["error"]["message"]
