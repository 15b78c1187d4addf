"""Token authentication, rate limits, and the one error body every error has."""

import pytest
from django.test import RequestFactory

from coldchain.api.errors import server_error
from tests.coldchain.api.conftest import client_for
from tests.shipment_factories import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def tight_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "2/minute", "ingest": "1/minute"},
    }


def test_a_token_from_username_and_password_authenticates_requests(world):
    user = world.a.users["carrier"]
    response = client_for(None).post(
        TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    shipments = client.get("/api/v1/shipments/").json()["results"]
    assert [s["reference"] for s in shipments] == [world.a.shipment.reference]


def test_a_wrong_password_is_a_validation_error_with_the_error_body(world):
    user = world.a.users["carrier"]
    response = client_for(None).post(
        TOKEN_URL, {"username": user.username, "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["non_field_errors"]


def test_an_unknown_token_is_a_401(world):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/v1/shipments/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_the_token_endpoint_is_rate_limited(world, tight_rates):
    client = client_for(None)
    for _ in range(2):
        client.post(TOKEN_URL, {"username": "x", "password": "y"}, format="json")
    response = client.post(TOKEN_URL, {"username": "x", "password": "y"}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_http_ingest_is_rate_limited(db, tight_rates):
    client = client_for(None)
    assert client.post("/api/v1/ingest/", b"x", content_type="application/jose").status_code == 200
    response = client.post("/api/v1/ingest/", b"x", content_type="application/jose")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


def test_an_unknown_api_path_is_a_404_with_the_error_body(world):
    response = client_for(world.staff).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such resource."}}


def test_a_bad_filter_value_names_the_field(world):
    response = client_for(world.staff).get("/api/v1/readings/", {"since": "last tuesday"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["since"]


def test_a_server_error_under_the_api_is_json_with_the_error_body():
    response = server_error(RequestFactory().get("/api/v1/shipments/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b'"code": "server_error"' in response.content


def test_pages_carry_a_count_and_a_link_to_the_next_page(world):
    body = client_for(world.staff).get("/api/v1/shipments/", {"limit": 1}).json()
    assert (body["count"], len(body["results"])) == (2, 1)
    assert "offset=1" in body["next"]


def test_reading_pages_follow_a_cursor_without_overlap(world):
    client = client_for(world.staff)
    first = client.get("/api/v1/readings/", {"limit": 4}).json()
    second = client.get(first["next"]).json()
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 8


def test_lists_filter_by_party_and_order_by_a_field(world):
    client = client_for(world.staff)
    carrier = world.b.shipment.carrier.slug
    filtered = client.get("/api/v1/shipments/", {"carrier": carrier}).json()["results"]
    assert [s["reference"] for s in filtered] == [world.b.shipment.reference]
    ascending = client.get("/api/v1/shipments/", {"ordering": "reference"}).json()["results"]
    descending = client.get("/api/v1/shipments/", {"ordering": "-reference"}).json()["results"]
    assert [s["reference"] for s in ascending] == sorted(
        [world.a.shipment.reference, world.b.shipment.reference]
    )
    assert descending == ascending[::-1]


def test_an_unknown_choice_in_a_filter_is_a_400(world):
    response = client_for(world.staff).get("/api/v1/shipments/", {"status": "lost"})
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]
