"""/api/v1/readings/series/: a device's readings bucketed in the database."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from coldchain.series import reading_series
from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.models import Reading
from tests.coldchain.api.conftest import client_for
from tests.factories import make_device
from tests.shipment_factories import make_shipment, make_user

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 5, tzinfo=UTC)
URL = "/api/v1/readings/series/"


@pytest.fixture
def logger():
    """Readings at minutes 1..10, temperature equal to the minute."""
    device = make_device()
    tokens = [device.signed(seq, temp_c=float(seq)) for seq in range(1, 11)]
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])
    return device


def test_readings_fall_into_equal_buckets_with_their_statistics(logger):
    width, points = reading_series(
        Reading.objects.filter(device_id=logger.id), START, START + timedelta(minutes=10), 2
    )
    assert width == timedelta(minutes=5)
    assert [(p.start, p.count, p.mean_c, p.min_c, p.max_c) for p in points] == [
        (START, 4, 2.5, 1.0, 4.0),
        (START + timedelta(minutes=5), 5, 7.0, 5.0, 9.0),
    ]


def test_empty_buckets_are_left_out(logger):
    _, points = reading_series(
        Reading.objects.filter(device_id=logger.id), START, START + timedelta(hours=10), 10
    )
    assert [(p.start, p.count) for p in points] == [(START, 10)]


def test_a_reading_just_before_the_end_stays_in_the_last_bucket(logger):
    end = START + timedelta(minutes=10, microseconds=1)
    _, points = reading_series(Reading.objects.filter(device_id=logger.id), START, end, 3)
    assert sum(p.count for p in points) == 10
    assert len(points) <= 3


def test_the_endpoint_serves_the_series_to_a_party_that_sees_the_device(logger):
    shipment = make_shipment(devices=[logger.device], departure_at=START)
    query = {"device": logger.id, "from": "2026-01-05T00:00:00Z", "to": "2026-01-05T00:10:00Z"}
    body = client_for(make_user(shipment.carrier)).get(URL, query | {"max_points": 2}).json()
    assert body["bucket_seconds"] == 300
    assert [p["count"] for p in body["points"]] == [4, 5]


def test_the_series_of_a_device_on_another_partys_load_is_empty(logger):
    make_shipment(devices=[logger.device], departure_at=START)
    stranger = make_user(make_shipment().carrier)
    query = {"device": logger.id, "from": "2026-01-05T00:00:00Z", "to": "2026-01-06T00:00:00Z"}
    assert client_for(stranger).get(URL, query).json()["points"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-01-05T00:00:00Z", "to": "2026-01-06T00:00:00Z"}, "device"),
        ({"device": "d", "to": "2026-01-06T00:00:00Z"}, "from"),
        ({"device": "d", "from": "2026-01-06T00:00:00Z", "to": "2026-01-05T00:00:00Z"}, "to"),
        ({"device": "d", "from": "2026-01-05", "to": "2026-01-06", "max_points": 0}, "max_points"),
    ],
)
def test_a_bad_series_query_names_the_field(logger, query, field):
    response = client_for(make_user(None, username="ops")).get(URL, query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
