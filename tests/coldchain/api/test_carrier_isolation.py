"""A carrier cannot open another carrier's shipment through the API, nor
anything hanging off it: every URL answers as if the shipment did not exist
(the page-level counterpart is in tests/frontend/browser)."""

import pytest

from tests.coldchain.api.conftest import client_for

pytestmark = pytest.mark.django_db

SHIPMENT_URLS = [
    "/api/v1/shipments/{reference}/",
    "/api/v1/shipments/{reference}/epcis/",
    "/api/v1/shipments/{reference}/release/",
    "/api/v1/contracts/{reference}/",
]


@pytest.mark.parametrize("template", SHIPMENT_URLS)
def test_a_carrier_cannot_open_another_carriers_shipment(contracts, template):
    theirs = contracts.a.shipment.reference
    response = client_for(contracts.b.users["carrier"]).get(template.format(reference=theirs))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_answer_is_the_same_as_for_a_reference_nobody_uses(contracts):
    client = client_for(contracts.b.users["carrier"])
    theirs = client.get(f"/api/v1/shipments/{contracts.a.shipment.reference}/")
    unused = client.get("/api/v1/shipments/SHP-NOBODY/")
    assert theirs.json() == unused.json()


def test_another_carriers_shipment_is_not_in_the_list(contracts):
    listed = client_for(contracts.b.users["carrier"]).get("/api/v1/shipments/").json()["results"]
    assert [s["reference"] for s in listed] == [contracts.b.shipment.reference]
