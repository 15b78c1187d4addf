"""The fleet overview at /: live shipments, their validated temperature and alerts."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from coldchain.models import Shipment
from frontend.selectors.shipments import FleetFilter
from tests.frontend.dashboard_factories import make_alert, make_assessment
from tests.shipment_factories import MILAN, driving_shipment, make_shipment

pytestmark = pytest.mark.django_db


def rows(client, query: str = "") -> str:
    return client.get(f"/fleet/rows{query}").content.decode()


def test_fleet_lists_the_parties_live_shipments_with_route_and_vehicle(signed_in, carrier):
    make_shipment(carrier=carrier, reference="SHP-LIVE", vehicle="truck-007")
    html = signed_in.get("/").content.decode()
    assert "SHP-LIVE" in html
    assert "truck-007" in html
    assert "Rotterdam → Milan" in html


def test_fleet_leaves_out_settled_shipments_unless_asked_for(signed_in, carrier):
    make_shipment(carrier=carrier, reference="SHP-DONE", status=Shipment.Status.SETTLED)
    assert "SHP-DONE" not in rows(signed_in)
    assert "SHP-DONE" in rows(signed_in, "?status=settled")


def test_fleet_shows_the_latest_validated_temperature_out_of_range_in_red(signed_in, carrier):
    shipment = make_shipment(carrier=carrier)
    make_assessment(shipment, validated_c=9.6, flag="breach")
    html = rows(signed_in)
    assert '<span class="temp out-of-range">9.6</span>' in html


def test_fleet_search_matches_reference_vehicle_place_or_product(signed_in, carrier):
    make_shipment(carrier=carrier, reference="SHP-NORTH", destination="Oslo")
    make_shipment(carrier=carrier, reference="SHP-SOUTH", destination="Seville")
    html = rows(signed_in, "?q=oslo")
    assert "SHP-NORTH" in html
    assert "SHP-SOUTH" not in html


def test_fleet_filters_shipments_with_open_alerts(signed_in, carrier):
    alerting = make_shipment(carrier=carrier, reference="SHP-ALERT")
    make_shipment(carrier=carrier, reference="SHP-CALM")
    make_alert(alerting)
    html = rows(signed_in, "?alerting=1")
    assert "SHP-ALERT" in html
    assert "1 open" in html
    assert "SHP-CALM" not in html


def test_an_unknown_status_filter_is_ignored(signed_in, carrier):
    make_shipment(carrier=carrier, reference="SHP-ANY")
    assert "SHP-ANY" in rows(signed_in, "?status=<script>")


@given(
    query=st.dictionaries(
        st.sampled_from(["q", "status", "alerting", "other"]), st.text(max_size=300)
    )
)
def test_any_query_string_gives_a_valid_fleet_filter(query):
    fleet_filter = FleetFilter.from_query(query)
    assert fleet_filter.status in {"", *Shipment.Status.values}
    assert len(fleet_filter.search) <= 100
    assert fleet_filter.alerting == (query.get("alerting") == "1")


def test_fleet_says_how_long_until_a_shipment_is_due(signed_in, carrier):
    make_shipment(carrier=carrier, departure_at=timezone.now(), hours=5)
    assert "in 4\xa0hours, 59\xa0minutes" in rows(signed_in)


def test_fleet_shows_a_position_based_eta_for_a_truck_on_its_way(signed_in, carrier):
    driving_shipment(carrier, deadline_in=timedelta(hours=6))
    html = rows(signed_in)
    assert "from position" in html
    assert "planned" not in html
    assert "late" not in html


def test_fleet_highlights_an_eta_after_the_deadline(signed_in, carrier):
    # About 107 km left at 80 km/h: well over the half hour left.
    driving_shipment(carrier, deadline_in=timedelta(minutes=30))
    assert '<span class="badge bad">late</span>' in rows(signed_in)


def test_fleet_falls_back_to_the_planned_arrival_without_destination_coordinates(
    signed_in, carrier
):
    shipment = make_shipment(carrier=carrier)
    html = rows(signed_in)
    assert f'<span class="eta">{shipment.deadline_at:%d %b %Y %H:%M}</span>' in html
    assert ">planned</span>" in html
    assert "from position" not in html


def test_a_delivered_shipment_shows_its_delivery_time_as_eta(signed_in, carrier):
    shipment = make_shipment(carrier=carrier, status=Shipment.Status.DELIVERED, **MILAN)
    shipment.delivered_at = shipment.deadline_at - timedelta(hours=2)
    shipment.save()
    html = rows(signed_in)
    assert f'<span class="eta">{shipment.delivered_at:%d %b %Y %H:%M}</span>' in html
    assert "delivered</span>" in html
