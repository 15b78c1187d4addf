"""Contract terms: defaults from product and template, validation naming the field,
normalisation and the canonical hash."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldchain.terms import (
    TermsError,
    canonical_json,
    sha256_json,
    terms_defaults,
    terms_merge,
    terms_validate,
)

PRODUCT = {
    "temp_min_c": 2.0,
    "temp_max_c": 8.0,
    "excursion_min_c": 0.0,
    "excursion_max_c": 12.0,
    "max_single_excursion_min": 30.0,
    "max_cumulative_excursion_min": 60.0,
    "mkt_limit_c": 8.0,
}
TEMPLATE = {
    "payment": {"amount": "12500", "currency": "EUR", "late_penalty_per_hour": 50},
    "insurance": {"policy": "POL-7", "insured_value": "250000", "deductible": "1000"},
    "dispute_window_h": 24,
}


def valid_terms(**overrides) -> dict:
    defaults = terms_defaults(
        product_limits=PRODUCT,
        payer="pharma-shipper",
        payee="fast-carrier",
        insurer="safe-insurer",
        template_terms=TEMPLATE,
    )
    return terms_merge(defaults, overrides)


def problems(terms: object) -> list[str]:
    with pytest.raises(TermsError) as error:
        terms_validate(terms)
    return error.value.problems


def test_defaults_take_the_products_range_and_allowances_and_the_shipments_parties():
    terms = terms_validate(valid_terms())
    assert terms["temperature"] == {
        "min_c": 2.0,
        "max_c": 8.0,
        "band_min_c": 0.0,
        "band_max_c": 12.0,
    }
    assert terms["excursions"] == {
        "max_single_min": 30.0,
        "max_cumulative_min": 60.0,
        "mkt_limit_c": 8.0,
        "adaptation_min": 10.0,
    }
    assert terms["quorum"] == {"k": 2, "tolerance_c": 1.0}
    assert (terms["payment"]["payer"], terms["payment"]["payee"]) == (
        "pharma-shipper",
        "fast-carrier",
    )
    assert terms["insurance"]["insurer"] == "safe-insurer"


def test_template_values_override_defaults_and_overrides_override_the_template():
    terms = terms_validate(valid_terms(excursions={"adaptation_min": 20}, dispute_window_h=72))
    assert terms["excursions"]["adaptation_min"] == 20.0
    assert terms["excursions"]["max_single_min"] == 30.0  # merged, not replaced
    assert terms["dispute_window_h"] == 72.0


def test_money_is_normalised_to_two_decimal_places_and_numbers_to_floats():
    terms = terms_validate(valid_terms())
    assert terms["payment"]["amount"] == "12500.00"
    assert terms["payment"]["late_penalty_per_hour"] == "50.00"
    assert terms["payment"]["late_penalty_max"] is None
    assert terms["insurance"]["deductible"] == "1000.00"
    assert terms["dispute_window_h"] == 24.0
    assert isinstance(terms["dispute_window_h"], float)


def test_no_insurance_is_allowed():
    assert terms_validate(valid_terms(insurance=None))["insurance"] is None


def test_the_same_terms_written_differently_hash_the_same():
    one = terms_validate(valid_terms(dispute_window_h=24, payment={"amount": 12500}))
    two = terms_validate(valid_terms(dispute_window_h=24.0, payment={"amount": "12500.00"}))
    reordered = dict(reversed(list(two.items())))
    assert sha256_json(one) == sha256_json(two) == sha256_json(reordered)


def test_the_hash_is_sha256_of_sorted_compact_json():
    assert canonical_json({"b": 1.5, "a": [1, "x"]}) == b'{"a":[1,"x"],"b":1.5}'
    assert sha256_json({"b": 1.5, "a": 1}) == hashlib.sha256(b'{"a":1,"b":1.5}').hexdigest()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"temperature": {"min_c": 9.0}}, "temperature.min_c must be below"),
        ({"temperature": {"band_max_c": 7.0}}, "must contain the range"),
        ({"temperature": {"max_c": "hot"}}, "temperature.max_c must be a finite number"),
        ({"excursions": {"max_single_min": -1}}, "excursions.max_single_min must be at least 0"),
        ({"excursions": {"adaptation_min": None}}, "excursions.adaptation_min"),
        ({"quorum": {"k": 1}}, "quorum.k must be an integer of at least 2"),
        ({"payment": {"amount": "-5"}}, "payment.amount must be a non-negative amount"),
        ({"payment": {"amount": "lots"}}, "payment.amount"),
        ({"payment": {"amount": True}}, "payment.amount"),
        ({"payment": {"currency": "eur"}}, "payment.currency"),
        ({"payment": {"payer": ""}}, "payment.payer"),
        ({"insurance": {"policy": None}}, "insurance.policy"),
        ({"insurance": {"excess": "5"}}, "insurance has unknown fields: excess"),
        ({"dispute_window_h": -1}, "dispute_window_h must be at least 0"),
        ({"format": 2}, "format must be 1"),
        ({"colour": "blue"}, "unknown fields: colour"),
        ({"payment": "all of it"}, "payment must be an object"),
    ],
)
def test_an_invalid_field_is_named(overrides, named):
    assert any(named in problem for problem in problems(valid_terms(**overrides)))


def test_every_wrong_field_is_named_at_once():
    found = problems(valid_terms(quorum={"k": 0}, payment={"currency": "euro"}))
    assert len(found) == 2
    assert "quorum.k" in found[0]
    assert "payment.currency" in found[1]


def test_terms_that_are_not_an_object_are_refused():
    assert problems(["terms"]) == ["the terms must be a JSON object"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    section=st.sampled_from(
        ["temperature", "excursions", "quorum", "payment", "insurance", "dispute_window_h"]
    ),
    value=json_values,
)
def test_any_json_in_any_field_is_validated_or_refused_never_crashes(section, value):
    terms = valid_terms()
    if isinstance(terms.get(section), dict) and isinstance(value, dict):
        terms[section] = {**terms[section], **value}
    else:
        terms[section] = value
    try:
        normal = terms_validate(terms)
    except TermsError as error:
        refused = error.problems
    else:
        refused = []
        assert terms_validate(normal) == normal  # normal terms stay as they are
    assert refused or normal


def test_windows_longer_than_a_year_are_refused():
    assert problems(valid_terms(dispute_window_h=1e308)) == [
        "dispute_window_h must be at most 8784, got 1e+308"
    ]
