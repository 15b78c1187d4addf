"""POST /api/v1/ingest/: the MQTT ingest path over HTTP."""

import orjson
import pytest

from devices.models import Reading, Rejection

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/"


def test_single_jws_as_application_jose_is_stored(client, device):
    response = client.post(URL, device.signed(1), content_type="application/jose")
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert bytes(Reading.objects.get().jws) == device.signed(1)


def test_json_list_reports_each_message(client, device):
    body = orjson.dumps([device.signed(1).decode(), "junk", device.signed(1).decode()])
    response = client.post(URL, body, content_type="application/json")
    data = response.json()
    assert (data["accepted"], data["rejected"], data["duplicate"]) == (1, 1, 1)
    assert [r["status"] for r in data["results"]] == ["accepted", "rejected", "duplicate"]
    assert data["results"][1]["reason"] == "malformed_jws"


def test_messages_object_and_one_per_line_are_accepted(client, device):
    as_object = orjson.dumps({"messages": [device.signed(1).decode()]})
    assert client.post(URL, as_object, content_type="application/json").json()["accepted"] == 1
    lines = device.signed(2) + b"\n" + device.signed(3) + b"\n"
    assert client.post(URL, lines, content_type="text/plain").json()["accepted"] == 2


def test_http_rejections_are_recorded_with_their_source(client, device):
    client.post(URL, b"nonsense", content_type="application/jose")
    assert Rejection.objects.get().source == "http"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{", "application/json"),
        (b'{"messages": "x"}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "text/plain"),
    ],
)
def test_unusable_body_is_a_clear_400(client, body, content_type):
    response = client.post(URL, body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_too_many_messages_in_one_request_is_a_400(client):
    body = orjson.dumps(["x"] * 1001)
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "at most 1000" in response.json()["error"]["message"]
