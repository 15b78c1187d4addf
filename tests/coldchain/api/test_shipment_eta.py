"""The shipment detail's ETA and the destination coordinates it is computed towards."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from coldchain.models import Party
from tests.coldchain.api.conftest import client_for
from tests.shipment_factories import driving_shipment, make_party, make_shipment, make_user

pytestmark = pytest.mark.django_db


def test_the_detail_gives_a_position_based_eta_towards_the_destination():
    carrier = make_party(Party.Kind.CARRIER)
    now = timezone.now()
    shipment = driving_shipment(carrier, deadline_in=timedelta(hours=6))
    body = client_for(make_user(carrier)).get(f"/api/v1/shipments/{shipment.reference}/").json()
    assert (body["destination_lat"], body["destination_lon"]) == (45.4642, 9.19)
    assert body["eta_basis"] == "position"
    assert parse_datetime(body["eta"]) > now


def test_without_destination_coordinates_the_detail_gives_the_planned_arrival():
    carrier = make_party(Party.Kind.CARRIER)
    shipment = make_shipment(carrier=carrier)
    body = client_for(make_user(carrier)).get(f"/api/v1/shipments/{shipment.reference}/").json()
    assert body["eta_basis"] == "planned"
    assert parse_datetime(body["eta"]) == shipment.deadline_at
    assert body["destination_lat"] is None
