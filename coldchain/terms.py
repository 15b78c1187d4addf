"""Contract terms: the schema, defaults, validation and the canonical hash.

A shipment's terms are one JSON object (schema in ``docs/contracts.md``,
section "Contract terms"). Activation validates them, normalises every value
to one type and format (temperatures and minutes as floats, money as decimal
strings with two places), and hashes the canonical JSON, so the same terms
always have the same SHA-256 wherever they are hashed.

Pure: no database. The caller supplies the product's limits and the parties'
slugs.
"""

from __future__ import annotations

import hashlib
import math
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import orjson

TERMS_FORMAT = 1
DEFAULT_ADAPTATION_MIN = 10.0
DEFAULT_DISPUTE_WINDOW_H = 48.0
DEFAULT_QUORUM = {"k": 2, "tolerance_c": 1.0}
MAX_ADAPTATION_MIN = 24 * 60.0
MAX_DISPUTE_WINDOW_H = 366 * 24.0
CENT = Decimal("0.01")
MONEY_MAX = Decimal("1e12")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,64}")

SECTIONS = {
    "temperature": ("min_c", "max_c", "band_min_c", "band_max_c"),
    "excursions": ("max_single_min", "max_cumulative_min", "mkt_limit_c", "adaptation_min"),
    "quorum": ("k", "tolerance_c"),
    "payment": (
        "amount",
        "currency",
        "payer",
        "payee",
        "late_penalty_per_hour",
        "late_penalty_max",
        "partial_release_penalty",
    ),
    "insurance": ("insurer", "policy", "insured_value", "deductible"),
}
TOP_LEVEL = ("format", *SECTIONS, "dispute_window_h")


class TermsError(ValueError):
    """The terms are not valid; ``problems`` names each field that is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid contract terms: " + "; ".join(problems))
        self.problems = problems


def terms_defaults(
    *,
    product_limits: dict,
    payer: str,
    payee: str,
    insurer: str | None,
    template_terms: dict | None = None,
) -> dict:
    """Terms before overrides: the product's range and allowances, the
    shipment's parties, then the template's values on top (deep merged)."""
    base = {
        "format": TERMS_FORMAT,
        "temperature": {
            "min_c": product_limits["temp_min_c"],
            "max_c": product_limits["temp_max_c"],
            "band_min_c": product_limits["excursion_min_c"],
            "band_max_c": product_limits["excursion_max_c"],
        },
        "excursions": {
            "max_single_min": product_limits["max_single_excursion_min"],
            "max_cumulative_min": product_limits["max_cumulative_excursion_min"],
            "mkt_limit_c": product_limits["mkt_limit_c"],
            "adaptation_min": DEFAULT_ADAPTATION_MIN,
        },
        "quorum": dict(DEFAULT_QUORUM),
        "payment": {
            "payer": payer,
            "payee": payee,
            "late_penalty_per_hour": "0",
            "late_penalty_max": None,
            "partial_release_penalty": "0",
        },
        "insurance": {"insurer": insurer} if insurer else None,
        "dispute_window_h": DEFAULT_DISPUTE_WINDOW_H,
    }
    return terms_merge(base, template_terms or {})


def terms_merge(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` applied: sections merge key by key; a
    section overridden with ``None`` (no insurance) replaces it."""
    merged = dict(base)
    for name, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


def _field(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Checker:
    """Collects every problem, so one pass names all the wrong fields."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def number(
        self,
        section: dict,
        path: str,
        name: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ):
        value = section.get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.problems.append(f"{_field(path, name)} must be a finite number, got {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.problems.append(
                f"{_field(path, name)} must be at least {minimum:g}, got {value!r}"
            )
            return None
        if maximum is not None and value > maximum:
            self.problems.append(f"{_field(path, name)} must be at most {maximum:g}, got {value!r}")
            return None
        return float(value)

    def optional_number(self, section: dict, path: str, name: str):
        if section.get(name) is None:
            return None
        return self.number(section, path, name)

    def money(self, section: dict, path: str, name: str) -> str | None:
        value = section.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            self.problems.append(f'{path}.{name} must be an amount such as "1250.00"')
            return None
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0 or amount >= MONEY_MAX:
            self.problems.append(
                f"{_field(path, name)} must be a non-negative amount below "
                f"{MONEY_MAX:,.0f}, got {value!r}"
            )
            return None
        return str(amount.quantize(CENT, rounding=ROUND_HALF_EVEN))

    def optional_money(self, section: dict, path: str, name: str) -> str | None:
        if section.get(name) is None:
            return None
        return self.money(section, path, name)

    def text(self, section: dict, path: str, name: str, pattern: re.Pattern | None = None):
        value = section.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            self.problems.append(
                f"{_field(path, name)} must be a non-empty text of at most 200 characters"
            )
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problems.append(f"{_field(path, name)} {value!r} does not match {pattern.pattern}")
            return None
        return value

    def section(self, terms: dict, name: str) -> dict:
        value = terms.get(name)
        if not isinstance(value, dict):
            self.problems.append(f"{name} must be an object")
            return {}
        unknown = sorted(set(value) - set(SECTIONS[name]))
        if unknown:
            self.problems.append(f"{name} has unknown fields: {', '.join(unknown)}")
        return value


def terms_validate(terms: object) -> dict:
    """The normalised terms, or ``TermsError`` naming every wrong field."""
    check = _Checker()
    if not isinstance(terms, dict):
        raise TermsError(["the terms must be a JSON object"])
    unknown = sorted(set(terms) - set(TOP_LEVEL))
    if unknown:
        check.problems.append(f"unknown fields: {', '.join(unknown)}")
    if terms.get("format") != TERMS_FORMAT:
        check.problems.append(f"format must be {TERMS_FORMAT}, got {terms.get('format')!r}")
    normal: dict = {"format": TERMS_FORMAT}

    section = check.section(terms, "temperature")
    temperature = {
        name: check.number(section, "temperature", name) for name in SECTIONS["temperature"]
    }
    normal["temperature"] = temperature
    if None not in temperature.values():
        if temperature["min_c"] >= temperature["max_c"]:
            check.problems.append("temperature.min_c must be below temperature.max_c")
        if not temperature["band_min_c"] <= temperature["min_c"] or not (
            temperature["band_max_c"] >= temperature["max_c"]
        ):
            check.problems.append(
                "the excursion band (temperature.band_min_c .. band_max_c) must contain the "
                "range (min_c .. max_c)"
            )

    section = check.section(terms, "excursions")
    normal["excursions"] = {
        "max_single_min": check.number(section, "excursions", "max_single_min", minimum=0),
        "max_cumulative_min": check.number(section, "excursions", "max_cumulative_min", minimum=0),
        "mkt_limit_c": check.optional_number(section, "excursions", "mkt_limit_c"),
        "adaptation_min": check.number(
            section, "excursions", "adaptation_min", minimum=0, maximum=MAX_ADAPTATION_MIN
        ),
    }

    section = check.section(terms, "quorum")
    k = section.get("k")
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        check.problems.append(f"quorum.k must be an integer of at least 2, got {k!r}")
    normal["quorum"] = {
        "k": k,
        "tolerance_c": check.number(section, "quorum", "tolerance_c", minimum=0),
    }

    section = check.section(terms, "payment")
    normal["payment"] = {
        "amount": check.money(section, "payment", "amount"),
        "currency": check.text(section, "payment", "currency", _CURRENCY),
        "payer": check.text(section, "payment", "payer", _SLUG),
        "payee": check.text(section, "payment", "payee", _SLUG),
        "late_penalty_per_hour": check.money(section, "payment", "late_penalty_per_hour"),
        "late_penalty_max": check.optional_money(section, "payment", "late_penalty_max"),
        "partial_release_penalty": check.money(section, "payment", "partial_release_penalty"),
    }

    if terms.get("insurance") is None:
        normal["insurance"] = None
    else:
        section = check.section(terms, "insurance")
        insurance = {
            "insurer": check.text(section, "insurance", "insurer", _SLUG),
            "policy": check.text(section, "insurance", "policy"),
            "insured_value": check.money(section, "insurance", "insured_value"),
            "deductible": check.money(section, "insurance", "deductible"),
        }
        normal["insurance"] = insurance

    normal["dispute_window_h"] = check.number(
        terms, "", "dispute_window_h", minimum=0, maximum=MAX_DISPUTE_WINDOW_H
    )
    if check.problems:
        raise TermsError(check.problems)
    return normal


def canonical_json(value: object) -> bytes:
    """Sorted keys, no whitespace, UTF-8; floats in their shortest round-trip
    form. Callers normalise number types first (``terms_validate`` does), so
    8 and 8.0 never hash differently."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def sha256_json(value: object) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()
