"""Webhook subscriptions: which URL of which party receives which event types."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from coldchain.models import Party, WebhookEndpoint
from coldchain.models.webhooks import ALL_EVENTS

# What coldchain.signals.shipment_event announces. An endpoint subscribed
# to ALL_EVENTS also gets event types added later.
EVENT_TYPES = (
    "alert.opened",
    "alert.closed",
    "alert.escalated",
    "contract.breach_warning",
    "contract.claim_filed",
    "contract.payment_released",
    "contract.payment_withheld",
    "shipment.status_changed",
    "shipment.release_signed",
)
SECRET_BYTES = 32
URL_MAX_LENGTH = WebhookEndpoint._meta.get_field("url").max_length

_url_validator = URLValidator(schemes=["http", "https"])


def webhook_url_validate(url: object) -> str:
    """``url`` if it is an absolute http(s) URL; ValidationError on ``url`` otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError({"url": "Give the URL that receives the webhooks."})
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError({"url": f"The URL is longer than {URL_MAX_LENGTH} characters."})
    scheme, separator, _ = url.partition("://")
    if not separator:
        raise ValidationError({"url": "Give an absolute URL, starting with https:// or http://."})
    if scheme.lower() not in ("http", "https"):
        raise ValidationError(
            {"url": f"Only http and https URLs can receive webhooks, not {scheme!r}."}
        )
    try:
        _url_validator(url)
    except ValidationError:
        raise ValidationError(
            {"url": "Not a valid URL: expected https://host[:port]/path."}
        ) from None
    return url


def webhook_event_types_validate(event_types: object) -> list[str]:
    """The subscribed event types without repeats; ValidationError on ``event_types``
    for an empty list, a non-list or an unknown type."""
    if not isinstance(event_types, list | tuple) or not all(
        isinstance(item, str) for item in event_types
    ):
        raise ValidationError({"event_types": 'Give a list of event types, or ["*"] for all.'})
    chosen = list(dict.fromkeys(event_types))
    if not chosen:
        raise ValidationError({"event_types": 'Subscribe to some event types, or ["*"] for all.'})
    unknown = [item for item in chosen if item != ALL_EVENTS and item not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {
                "event_types": f"Unknown event types {unknown!r}; known: "
                f"{', '.join(EVENT_TYPES)} (or {ALL_EVENTS!r} for all)."
            }
        )
    return [ALL_EVENTS] if ALL_EVENTS in chosen else chosen


def webhook_endpoint_create(
    *, party: Party, url: str, event_types: list[str]
) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its signing secret, to show its owner once."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    endpoint = WebhookEndpoint.objects.create(
        party=party,
        url=webhook_url_validate(url),
        event_types=webhook_event_types_validate(event_types),
        secret=secret,
    )
    return endpoint, secret


def webhook_endpoint_update(
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given; deliveries already recorded keep their bodies and
    are sent to the endpoint's URL as it is when they are attempted."""
    changed = []
    if url is not None:
        endpoint.url = webhook_url_validate(url)
        changed.append("url")
    if event_types is not None:
        endpoint.event_types = webhook_event_types_validate(event_types)
        changed.append("event_types")
    if active is not None:
        endpoint.active = bool(active)
        changed.append("active")
    if changed:
        endpoint.save(update_fields=changed)
    return endpoint
