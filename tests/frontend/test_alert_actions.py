"""Acknowledging and commenting alerts from the inbox and the shipment page (htmx posts)."""

import pytest
from django.utils import timezone

from coldchain.models import Alert, AlertNote, Membership, Party
from ledger.services import log_seal
from tests.frontend.dashboard_factories import make_alert
from tests.shipment_factories import make_party, make_shipment, make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alert(carrier):
    return make_alert(make_shipment(carrier=carrier))


def post(client, user, url, **fields):
    client.force_login(user)
    return client.post(url, fields, **HTMX)


def test_an_operator_acknowledges_and_gets_the_alerts_notes_back(client, carrier, alert):
    operator = make_user(carrier, role=Membership.Role.OPERATOR)
    response = post(client, operator, f"/alerts/{alert.pk}/acknowledge", text="Driver called")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Acknowledgement</strong> by" in html
    assert "Driver called" in html
    assert f'id="alert-{alert.pk}-status" hx-swap-oob="true"' in html
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED


def test_an_acknowledged_alert_offers_no_second_acknowledgement(client, carrier, alert):
    operator = make_user(carrier, role=Membership.Role.OPERATOR)
    html = post(client, operator, f"/alerts/{alert.pk}/acknowledge").content.decode()
    assert f'/alerts/{alert.pk}/acknowledge"' not in html
    assert f'/alerts/{alert.pk}/comment"' in html


def test_a_note_links_its_ledger_entry_once_sealed(client, carrier, alert):
    post(client, make_user(carrier), f"/alerts/{alert.pk}/comment", text="Reefer reset")
    log_seal()
    index = AlertNote.objects.get(alert=alert).ledger_entry.index
    html = client.get("/alerts/").content.decode()
    assert f'<a href="/ledger/?verify={index}">ledger #{index}</a>' in html


def test_a_viewer_is_refused_with_the_reason_and_nothing_is_noted(client, carrier, alert):
    viewer = make_user(carrier, role=Membership.Role.VIEWER)
    response = post(client, viewer, f"/alerts/{alert.pk}/acknowledge")
    assert response.status_code == 403
    assert "may not act on alerts of shipment" in response.content.decode()
    assert not AlertNote.objects.filter(alert=alert).exists()


def test_a_viewer_is_offered_no_forms(client, carrier, alert):
    client.force_login(make_user(carrier, role=Membership.Role.VIEWER))
    for url in ("/alerts/", f"/shipments/{alert.shipment.reference}/"):
        html = client.get(url).content.decode()
        assert f'/alerts/{alert.pk}/acknowledge"' not in html
        assert f'/alerts/{alert.pk}/comment"' not in html


def test_an_auditor_reads_but_may_not_comment(client, alert):
    auditor = make_user(make_party(Party.Kind.AUDITOR))
    response = post(client, auditor, f"/alerts/{alert.pk}/comment", text="Seen")
    assert response.status_code == 403
    assert not AlertNote.objects.filter(alert=alert).exists()


def test_an_empty_comment_is_refused_with_the_services_message(client, carrier, alert):
    response = post(client, make_user(carrier), f"/alerts/{alert.pk}/comment", text="  ")
    assert response.status_code == 400
    assert "a comment needs a text" in response.content.decode()


def test_a_closed_alert_cannot_be_acknowledged(client, carrier):
    closed = make_alert(
        make_shipment(carrier=carrier), status=Alert.Status.CLOSED, closed_at=timezone.now()
    )
    response = post(client, make_user(carrier), f"/alerts/{closed.pk}/acknowledge")
    assert response.status_code == 400
    assert "is closed: there is nothing to acknowledge" in response.content.decode()


def test_another_partys_alert_does_not_exist(client, alert):
    stranger = make_user(make_party(Party.Kind.CARRIER))
    assert post(client, stranger, f"/alerts/{alert.pk}/acknowledge").status_code == 404
    assert not AlertNote.objects.filter(alert=alert).exists()


def test_a_plain_form_post_returns_to_the_shipment_page(client, carrier, alert):
    client.force_login(make_user(carrier))
    response = client.post(f"/alerts/{alert.pk}/comment", {"text": "Checked the seals"})
    assert response.status_code == 302
    assert response["Location"] == f"/shipments/{alert.shipment.reference}/"
    assert "Checked the seals" in client.get(response["Location"]).content.decode()


def test_acknowledging_needs_a_post(client, carrier, alert):
    client.force_login(make_user(carrier))
    assert client.get(f"/alerts/{alert.pk}/acknowledge").status_code == 405
