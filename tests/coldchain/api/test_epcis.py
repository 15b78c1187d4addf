"""EPCIS 2.0 export: a shipment's departure, sensor data and arrival."""

from datetime import UTC, datetime, timedelta

import pytest

from coldchain.epcis import SensorSample, epcis_document
from tests.coldchain.api.conftest import client_for
from tests.shipment_factories import make_product, make_shipment

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 5, tzinfo=UTC)
BASE = "https://cc.example"


def samples(device_id: str, temps: list[float]) -> list[SensorSample]:
    return [
        SensorSample(device_id, START + timedelta(minutes=n), temp) for n, temp in enumerate(temps)
    ]


@pytest.fixture
def delivered():
    return make_shipment(
        product=make_product(temp_min_c=2.0, temp_max_c=8.0),
        departure_at=START,
        delivered_at=START + timedelta(hours=20),
    )


def export(shipment, readings):
    return epcis_document(shipment, readings, base_uri=BASE, created_at=START + timedelta(days=1))


def test_the_document_is_an_epcis_2_document_with_the_gs1_context(delivered):
    document = export(delivered, [])
    assert document["@context"][0] == (
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    )
    assert (document["type"], document["schemaVersion"]) == ("EPCISDocument", "2.0")
    assert document["creationDate"] == "2026-01-06T00:00:00Z"


def test_events_are_departure_sensor_report_and_arrival_in_time_order(delivered):
    events = export(delivered, samples("d1", [4.0]))["epcisBody"]["eventList"]
    assert [(e["type"], e["action"], e["bizStep"]) for e in events] == [
        ("ObjectEvent", "OBSERVE", "departing"),
        ("ObjectEvent", "OBSERVE", "sensor_reporting"),
        ("ObjectEvent", "OBSERVE", "arriving"),
    ]
    assert [e["eventTime"] for e in events] == sorted(e["eventTime"] for e in events)
    assert {e["epcList"][0] for e in events} == {f"{BASE}/shipments/{delivered.reference}"}


def test_each_device_is_one_sensor_element_with_one_report_per_reading(delivered):
    readings = samples("d1", [4.0, 5.0]) + samples("d2", [4.5])
    (_, sensing, _) = export(delivered, readings)["epcisBody"]["eventList"]
    elements = sensing["sensorElementList"]
    assert [e["sensorMetadata"]["deviceID"] for e in elements] == [
        f"{BASE}/devices/d1",
        f"{BASE}/devices/d2",
    ]
    assert elements[0]["sensorReport"][1] == {
        "type": "gs1:Temperature",
        "value": 5.0,
        "uom": "CEL",
        "time": "2026-01-05T00:01:00Z",
    }
    assert elements[0]["sensorMetadata"]["startTime"] == "2026-01-05T00:00:00Z"


def test_readings_outside_the_labelled_range_carry_an_alarm_condition(delivered):
    events = export(delivered, samples("d1", [1.9, 2.0, 8.0, 8.1]))["epcisBody"]["eventList"]
    reports = events[1]["sensorElementList"][0]["sensorReport"]
    alarm = "ALARM_CONDITION"
    assert [r.get("exception") for r in reports] == [alarm, None, None, alarm]


def test_a_shipment_not_yet_delivered_has_no_arrival_event():
    shipment = make_shipment(departure_at=START)
    steps = [e["bizStep"] for e in export(shipment, [])["epcisBody"]["eventList"]]
    assert steps == ["departing"]


def event_ids(document: dict) -> list[str]:
    return [event["eventID"] for event in document["epcisBody"]["eventList"]]


def test_exporting_the_same_data_twice_gives_the_same_event_ids(delivered):
    readings = samples("d1", [4.0])
    first, second = (event_ids(export(delivered, readings)) for _ in range(2))
    assert first == second
    assert all(event_id.startswith("urn:uuid:") for event_id in first)


def test_the_endpoint_exports_the_readings_of_a_visible_shipment_only(world):
    reference = world.a.shipment.reference
    url = f"/api/v1/shipments/{reference}/epcis/"
    document = client_for(world.a.users["receiver"]).get(url).json()
    (sensing,) = [e for e in document["epcisBody"]["eventList"] if "sensorElementList" in e]
    (element,) = sensing["sensorElementList"]
    assert element["sensorMetadata"]["deviceID"].endswith(f"/devices/{world.a.device.id}")
    assert len(element["sensorReport"]) == 5
    assert client_for(world.b.users["receiver"]).get(url).status_code == 404


def test_the_export_is_json_ld_unless_plain_json_is_asked_for(world):
    client = client_for(world.a.users["carrier"])
    url = f"/api/v1/shipments/{world.a.shipment.reference}/epcis/"
    assert client.get(url)["Content-Type"] == "application/ld+json"
    assert client.get(url, HTTP_ACCEPT="application/json")["Content-Type"] == "application/json"
