"""The OpenAPI schema validates, the docs page works offline, and generated
requests against every operation never get a server error."""

import json

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.django_db
SCHEMA_URL = "/api/schema/?format=json"


def test_the_schema_is_valid_openapi_3(client):
    schema = client.get(SCHEMA_URL).json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_the_schema_documents_every_resource(client):
    paths = client.get(SCHEMA_URL).json()["paths"]
    for resource in (
        "shipments", "parties", "products", "devices", "readings", "assessments", "contracts",
        "contract-actions", "claims", "payments", "webhooks", "webhook-deliveries",
    ):  # fmt: skip
        assert f"/api/v1/{resource}/" in paths
    for path in ("alerts/", "models/", "ingest/", "auth/token/", "ledger/checkpoint"):
        assert f"/api/v1/{path}" in paths
    assert "/api/v1/shipments/{reference}/epcis/" in paths
    assert "/api/v1/readings/series/" in paths
    for action in (
        "shipments/{reference}/release/", "alerts/{id}/acknowledge/", "alerts/{id}/comment/",
        "claims/{id}/evidence/", "webhook-deliveries/{id}/redeliver/",
    ):  # fmt: skip
        assert f"/api/v1/{action}" in paths


def test_every_operation_documents_the_error_body(client):
    paths = client.get(SCHEMA_URL).json()["paths"]
    for operations in paths.values():
        for operation in operations.values():
            body = operation["responses"]["default"]["content"]["application/json"]
            assert body["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_swagger_ui_is_served_from_local_static_files(client):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "https://" not in page
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def load_schema():
    """The schema as the API serves it, its requests sent in-process to the WSGI app."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    schema.app = get_wsgi_application()
    return schema


SCHEMA = load_schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def connection_kept_across_requests():
    """As Django's test client does: a request's end must not close the
    connection that holds the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


WRITES = [op for op in OPERATIONS if op.method.upper() != "GET"]


def no_server_error_for(user, operation, mode) -> None:
    """Generated requests to ``operation``, sent with ``user``'s token, all answer below 500."""
    token, _ = Token.objects.get_or_create(user=user)
    headers = {"Authorization": f"Token {token.key}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def request_answers_without_a_server_error(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])

    try:
        request_answers_without_a_server_error()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (no parameters, or
        # only unconstrained strings): there is no negative case to send.
        assert mode == GenerationMode.NEGATIVE
        pytest.skip("the schema admits every request to this operation")


@pytest.mark.usefixtures("connection_kept_across_requests")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_generated_request_gets_a_server_error(world, operation, mode):
    no_server_error_for(world.auditor, operation, mode)


@pytest.mark.usefixtures("connection_kept_across_requests")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", WRITES, ids=[op.label for op in WRITES])
def test_no_generated_write_by_a_manager_gets_a_server_error(world, operation, mode):
    """An auditor's writes stop at the permission check; a manager's reach the services."""
    no_server_error_for(world.a.users["receiver"], operation, mode)
