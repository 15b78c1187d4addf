"""Webhook endpoints: who subscribes to what, and what they are told when it is wrong."""

import pytest
from django.core.exceptions import ValidationError

from coldchain.models import WebhookEndpoint
from coldchain.webhooks.endpoints import (
    EVENT_TYPES,
    webhook_endpoint_create,
    webhook_endpoint_update,
)
from tests.shipment_factories import make_party

pytestmark = pytest.mark.django_db

URL = "https://erp.example.com/hooks/coldchain"


def create(**overrides):
    values = {"party": make_party(), "url": URL, "event_types": ["alert.opened"]} | overrides
    return webhook_endpoint_create(**values)


def error_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        call()
    return raised.value.message_dict


def test_a_new_endpoint_comes_with_a_secret_that_is_shown_once_and_kept_for_signing():
    endpoint, secret = create()
    assert len(secret) >= 40
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
    assert endpoint.active


def test_every_endpoint_gets_its_own_secret():
    _, first = create()
    _, second = create()
    assert first != second


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://erp.example.com/hooks", "Only http and https"),
        ("javascript:alert(1)", "Give an absolute URL"),
        ("file:///etc/passwd", "Only http and https"),
        ("https://", "Not a valid URL"),
        ("https://exa mple.com/", "Not a valid URL"),
        ("erp.example.com/hooks", "Give an absolute URL"),
        ("", "Give the URL"),
        (None, "Give the URL"),
        ("https://example.com/" + "a" * 2000, "longer than 2000"),
    ],
)
def test_urls_other_than_absolute_http_or_https_are_refused_with_a_reason(url, says):
    errors = error_of(lambda: create(url=url))
    assert says in errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_http_to_an_ip_address_and_port_is_accepted():
    endpoint, _ = create(url="http://10.1.2.3:8080/in")
    assert endpoint.url == "http://10.1.2.3:8080/in"


def test_an_unknown_event_type_is_refused_with_the_known_ones_listed():
    errors = error_of(lambda: create(event_types=["alert.opened", "alert.exploded"]))
    assert "'alert.exploded'" in errors["event_types"][0]
    assert all(event_type in errors["event_types"][0] for event_type in EVENT_TYPES)


@pytest.mark.parametrize("event_types", [[], "alert.opened", None, [1], {"alert.opened": 1}])
def test_event_types_must_be_a_non_empty_list_of_names(event_types):
    errors = error_of(lambda: create(event_types=event_types))
    assert "event_types" in errors


def test_a_subscription_to_all_events_absorbs_the_others():
    endpoint, _ = create(event_types=["alert.opened", "*"])
    assert endpoint.event_types == ["*"]
    assert endpoint.subscribes_to("some.event_added_later")


def test_repeated_event_types_are_kept_once():
    endpoint, _ = create(event_types=["alert.opened", "alert.closed", "alert.opened"])
    assert endpoint.event_types == ["alert.opened", "alert.closed"]


def test_an_update_validates_like_creation_and_keeps_the_secret():
    endpoint, secret = create()
    with pytest.raises(ValidationError):
        webhook_endpoint_update(endpoint, url="gopher://old.example.com")
    webhook_endpoint_update(endpoint, url="https://new.example.com/in", active=False)
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.active, endpoint.secret) == (
        "https://new.example.com/in",
        False,
        secret,
    )
