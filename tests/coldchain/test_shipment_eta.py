"""A shipment's ETA from the positions its attached devices reported."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coldchain.shipment_eta import shipment_eta
from tests.factories import drive_north, make_device
from tests.shipment_factories import make_shipment

pytestmark = pytest.mark.django_db

MILAN = {"destination_lat": 45.4642, "destination_lon": 9.19}


def test_recent_positions_give_an_eta_at_the_trucks_speed():
    now = timezone.now()
    logger = make_device()
    shipment = make_shipment(
        devices=[logger.device], departure_at=now - timedelta(hours=3), **MILAN
    )
    drive_north(logger, until=now, speed_kmh=80, end_lat=44.5)
    eta = shipment_eta(shipment, now=now)
    assert eta.basis == "position"
    assert abs(eta.speed_kmh - 80) < 1
    assert eta.at > now


def test_positions_older_than_two_hours_leave_the_planned_arrival():
    now = timezone.now()
    logger = make_device()
    shipment = make_shipment(
        devices=[logger.device], departure_at=now - timedelta(hours=6), **MILAN
    )
    drive_north(logger, until=now - timedelta(hours=3), speed_kmh=80, end_lat=44.5)
    eta = shipment_eta(shipment, now=now)
    assert (eta.at, eta.basis) == (shipment.deadline_at, "planned")


def test_positions_of_a_device_not_attached_to_the_shipment_do_not_count():
    now = timezone.now()
    elsewhere = make_device()
    shipment = make_shipment(
        devices=[make_device().device], departure_at=now - timedelta(hours=3), **MILAN
    )
    drive_north(elsewhere, until=now, speed_kmh=80, end_lat=44.5)
    assert shipment_eta(shipment, now=now).basis == "planned"
