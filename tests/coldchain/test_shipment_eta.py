"""A shipment's ETA from the positions its attached devices reported."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coldchain.models import DeviceAttachment
from coldchain.shipment_eta import shipment_eta, shipments_with_eta
from tests.factories import drive_north, make_device
from tests.shipment_factories import MILAN, make_shipment

pytestmark = pytest.mark.django_db


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


def test_positions_after_the_device_was_detached_do_not_count():
    now = timezone.now()
    logger = make_device()
    shipment = make_shipment(departure_at=now - timedelta(hours=3), **MILAN)
    DeviceAttachment.objects.create(
        shipment=shipment,
        device=logger.device,
        attached_from=shipment.departure_at,
        attached_until=now - timedelta(minutes=90),
    )
    drive_north(logger, until=now, speed_kmh=80, end_lat=44.5)
    assert shipment_eta(shipment, now=now).basis == "planned"


def test_the_fleet_gets_each_shipments_eta_from_its_own_devices():
    now = timezone.now()
    north, south = make_device(), make_device()
    departure = now - timedelta(hours=3)
    near = make_shipment(devices=[north.device], departure_at=departure, **MILAN)
    far = make_shipment(devices=[south.device], departure_at=departure, **MILAN)
    drive_north(north, until=now, speed_kmh=80, end_lat=45.0)
    drive_north(south, until=now, speed_kmh=80, end_lat=43.0)
    etas = {s.pk: s.eta for s in shipments_with_eta([far, near], now=now)}
    assert etas[near.pk].remaining_km < etas[far.pk].remaining_km
    assert etas[near.pk].at < etas[far.pk].at
