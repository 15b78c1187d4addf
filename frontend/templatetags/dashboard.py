"""Presentation helpers for the dashboard templates."""

from __future__ import annotations

import base64

from django import template

from frontend.selectors.alerts import factor_texts
from frontend.selectors.contracts import minutes_text

register = template.Library()

FLAG_BADGES = {"ok": "ok", "breach_soon": "warn", "breach": "bad", "sensor_fault": "warn"}


@register.filter
def factors(top_factors: list) -> list[str]:
    return factor_texts(top_factors)


@register.filter
def minutes(value: float | None) -> str:
    return minutes_text(value)


@register.filter
def party_name(slug: str, names: dict[str, str]) -> str:
    return names.get(slug, slug)


ALERT_STATUS_BADGES = {"open": "bad", "acknowledged": "info", "closed": "grey"}


@register.filter
def alert_status_badge(status: str) -> str:
    return ALERT_STATUS_BADGES.get(status, "grey")


@register.filter
def flag_badge(flag: str | None) -> str:
    return FLAG_BADGES.get(flag or "", "grey")


@register.simple_tag
def range_class(value: float | None, product) -> str:
    """CSS class of a temperature against the product's range."""
    if value is None:
        return "temp"
    inside = product.temp_min_c <= value <= product.temp_max_c
    return "temp in-range" if inside else "temp out-of-range"


@register.filter
def metric_items(metrics: dict) -> list[tuple[str, str]]:
    """A model's scalar metrics as (name, value) pairs, nested ones as name.sub."""
    items: list[tuple[str, str]] = []
    for name, value in sorted((metrics or {}).items()):
        if isinstance(value, dict):
            items += [(f"{name}.{sub}", text) for sub, text in metric_items(value)]
        elif isinstance(value, float):
            items.append((name, f"{value:.3f}"))
        elif isinstance(value, int | str | bool):
            items.append((name, str(value)))
    return items


@register.filter
def b64(raw: bytes | memoryview | None) -> str:
    """Hashes as the ledger API and checkpoints print them: standard base64."""
    return base64.b64encode(bytes(raw)).decode("ascii") if raw is not None else ""
