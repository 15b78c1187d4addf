"""Every dashboard page needs a signed-in user and shows only the user's party's shipments."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import make_device
from tests.shipment_factories import PASSWORD, make_shipment

pytestmark = pytest.mark.django_db

PAGES = ["/", "/fleet/rows", "/alerts/", "/ledger/", "/devices/", "/models/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_anonymous_visitors_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_logging_in_with_the_password_opens_the_fleet(client, carrier_user):
    response = client.post("/login/", {"username": "dispatcher", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_is_refused_with_a_message(client, carrier_user):
    response = client.post("/login/", {"username": "dispatcher", "password": "wrong"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_the_navigation_names_the_users_party_and_role(signed_in):
    html = signed_in.get("/").content.decode()
    assert "Polar Freight" in html
    assert "manager" in html


@pytest.mark.parametrize("suffix", ["", "live", "excursions", "series.json"])
def test_another_carriers_shipment_does_not_exist_for_this_carrier(signed_in, suffix):
    theirs = make_shipment()
    response = signed_in.get(f"/shipments/{theirs.reference}/{suffix}")
    assert response.status_code == 404


@pytest.mark.parametrize("suffix", ["", "live", "excursions", "series.json"])
def test_the_carrier_opens_its_own_shipment(signed_in, carrier, suffix):
    ours = make_shipment(carrier=carrier)
    assert signed_in.get(f"/shipments/{ours.reference}/{suffix}").status_code == 200


def test_staff_open_any_shipment(client):
    shipment = make_shipment()
    client.force_login(get_user_model().objects.create_user("ops", is_staff=True))
    assert client.get(f"/shipments/{shipment.reference}/").status_code == 200


def test_devices_page_lists_only_devices_on_the_users_shipments(signed_in, carrier):
    ours = make_device(device_id="ours-logger")
    make_device(device_id="theirs-logger")
    make_shipment(carrier=carrier, devices=[ours.device])
    html = signed_in.get("/devices/").content.decode()
    assert "ours-logger" in html
    assert "theirs-logger" not in html
