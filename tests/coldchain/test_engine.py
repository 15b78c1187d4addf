"""The contract engine, rule by rule: a pure function of terms, facts, state and
the keys already done. Facts come from the real excursion accounting over
minute-by-minute validated temperatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from coldchain import engine
from coldchain.excursions import excursion_summary, rfc3339
from coldchain.terms import terms_defaults, terms_merge, terms_validate

DEPARTED = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
DEADLINE = DEPARTED + timedelta(hours=24)
DELIVERED = DEPARTED + timedelta(hours=20)
AFTER_WINDOW = DELIVERED + timedelta(hours=48, minutes=1)
MODEL = {"task": "breach_soon", "version": 3, "artifact_sha256": "ab" * 32}
BREACH_MODEL = {"task": "breach", "version": 2, "artifact_sha256": "cd" * 32}


def terms(**overrides) -> dict:
    defaults = terms_defaults(
        product_limits={
            "temp_min_c": 2.0,
            "temp_max_c": 8.0,
            "excursion_min_c": 0.0,
            "excursion_max_c": 12.0,
            "max_single_excursion_min": 30.0,
            "max_cumulative_excursion_min": 60.0,
            "mkt_limit_c": 8.0,
        },
        payer="shipper",
        payee="carrier",
        insurer="insurer",
        template_terms={
            "payment": {
                "amount": "10000",
                "currency": "EUR",
                "late_penalty_per_hour": "100",
                "late_penalty_max": "500",
                "partial_release_penalty": "250",
            },
            "insurance": {"policy": "POL-1", "insured_value": "200000", "deductible": "5000"},
        },
    )
    return terms_validate(terms_merge(defaults, overrides))


def summary(*spans: tuple[int, float]) -> dict:
    """Excursion facts of a validated series: (minutes, °C) spans, one sample a minute."""
    values = [temp for minutes, temp in spans for _ in range(minutes)]
    index = pd.date_range(DEPARTED, periods=len(values), freq="1min")
    return excursion_summary(
        pd.Series(values, index=index),
        temp_min_c=2.0,
        temp_max_c=8.0,
        band_min_c=0.0,
        band_max_c=12.0,
    ).as_facts()


CLEAN = ((600, 5.0),)
DOOR_OPEN = ((300, 5.0), (6, 9.5), (294, 5.0))  # 6 min at 9.5 °C: within every allowance


def assessment(minute: int, flag: str) -> dict:
    return {
        "evaluated_at": rfc3339(DEPARTED + timedelta(minutes=minute)),
        "flag": flag,
        "ledger_index": 1000 + minute,
        "reading_indices": [minute * 2, minute * 2 + 1],
        "breach_model": BREACH_MODEL,
        "breach_soon_model": MODEL,
    }


def facts(
    spans=CLEAN,
    *,
    now: datetime = DEPARTED + timedelta(hours=10),
    delivered: datetime | None = None,
    assessments: list[dict] = (),
    release: dict | None = None,
) -> dict:
    excursions = summary(*spans) if spans else None
    return {
        "format": 1,
        "shipment": "SHP-1",
        "now": rfc3339(now),
        "log_size": 5000,
        "departed_at": rfc3339(DEPARTED),
        "delivered_at": None if delivered is None else rfc3339(delivered),
        "deadline_at": rfc3339(DEADLINE),
        "excursions": excursions,
        "excursion_reading_indices": [
            [10 + n, 11 + n] for n, _ in enumerate((excursions or {"excursions": []})["excursions"])
        ],
        "reading_indices": list(range(10, 20)),
        "assessments": list(assessments),
        "release": release,
    }


def kinds(decision: engine.Decision) -> list[str]:
    return [action.kind for action in decision.actions]


def released(fraction: str | None = None, decision: str = "released") -> dict:
    return {"decision": decision, "fraction": fraction, "signed_at": rfc3339(DELIVERED)}


# --------------------------------------------------------------------------- tolerance


@pytest.mark.parametrize(
    ("spans", "violated"),
    [
        (CLEAN, []),
        (DOOR_OPEN, []),
        (((100, 5.0), (30, 9.0), (100, 5.0)), []),  # exactly the longest allowed
        (((100, 5.0), (31, 9.0), (100, 5.0)), ["lasted 31 min, more than the 30 min"]),
        (
            (*((60, 5.0), (25, 9.0)) * 3, (60, 5.0)),
            ["75 min out of range in all, more than the 60 min"],
        ),
        (((100, 5.0), (2, 13.0), (100, 5.0)), ["reached 13 °C, outside the allowed band"]),
        (((100, 5.0), (20, -0.5), (100, 5.0)), ["reached -0.5 °C, outside the allowed band"]),
    ],
    ids=["clean", "door-open", "30-min", "31-min", "cumulative", "above-band", "below-band"],
)
def test_tolerance_violations(spans, violated):
    found = engine.tolerance_violations(terms(), summary(*spans))
    assert len(found) == len(violated)
    for text, expected in zip(found, violated, strict=True):
        assert expected in text


def test_an_mkt_limit_of_none_is_never_violated():
    spans = ((600, 7.9), (20, 11.9), (600, 7.9))
    assert (
        engine.tolerance_violations(terms(excursions={"mkt_limit_c": None}), summary(*spans)) == ()
    )


# --------------------------------------------------------------------------- breach warnings


def test_a_breach_soon_assessment_warns_the_carrier_once_per_run():
    assessments = [
        assessment(10, "ok"),
        assessment(20, "breach_soon"),
        assessment(25, "breach_soon"),
        assessment(30, "ok"),
        assessment(40, "breach_soon"),
    ]
    decision = engine.contract_actions(
        terms(), facts(assessments=assessments), engine.IN_TRANSIT, set()
    )
    warnings = decision.actions
    assert kinds(decision) == [engine.BREACH_WARNING, engine.BREACH_WARNING]
    assert [w.key for w in warnings] == [
        "SHP-1/breach_warning/2026-01-05T06:20:00Z",
        "SHP-1/breach_warning/2026-01-05T06:40:00Z",
    ]
    assert warnings[0].assessment_indices == (1020,)
    assert warnings[0].reading_indices == (40, 41)
    assert warnings[0].models == (engine.ModelRef("breach_soon", 3, "ab" * 32),)


def test_a_warning_already_given_is_not_given_again_as_its_run_goes_on():
    first = [assessment(20, "breach_soon")]
    done = {
        a.key
        for a in engine.contract_actions(
            terms(), facts(assessments=first), "in_transit", set()
        ).actions
    }
    longer = [*first, assessment(25, "breach_soon"), assessment(30, "breach_soon")]
    assert (
        kinds(engine.contract_actions(terms(), facts(assessments=longer), "in_transit", done)) == []
    )


@pytest.mark.parametrize("state", [engine.DELIVERED, engine.RELEASED, engine.SETTLED])
def test_no_warning_after_delivery(state):
    decision = engine.contract_actions(
        terms(), facts(assessments=[assessment(20, "breach_soon")]), state, set()
    )
    assert engine.BREACH_WARNING not in kinds(decision)


# --------------------------------------------------------------------------- insurance claims

BREACH = ((100, 5.0), (45, 10.0), (100, 5.0))


def test_a_breach_beyond_tolerance_files_one_claim_for_the_insured_value_less_deductible():
    decision = engine.contract_actions(
        terms(), facts(BREACH, assessments=[assessment(120, "breach")]), engine.IN_TRANSIT, set()
    )
    (claim,) = decision.actions
    assert claim.kind == engine.INSURANCE_CLAIM
    assert claim.key == "SHP-1/insurance_claim"
    assert claim.amount == Decimal("195000.00")
    assert (claim.currency, claim.payer, claim.payee) == ("EUR", "insurer", "shipper")
    assert claim.details["policy"] == "POL-1"
    assert "lasted 45 min" in claim.reason
    assert claim.reading_indices == (10, 11)  # the excursion's readings
    assert claim.assessment_indices == (1120,)
    assert claim.models == (engine.ModelRef("breach", 2, "cd" * 32),)


def test_a_door_open_transient_within_allowance_files_no_claim():
    decision = engine.contract_actions(terms(), facts(DOOR_OPEN), engine.IN_TRANSIT, set())
    assert decision.actions == ()
    assert decision.violations == ()


def test_an_uninsured_shipment_files_no_claim():
    decision = engine.contract_actions(
        terms(insurance=None), facts(BREACH), engine.IN_TRANSIT, set()
    )
    assert engine.INSURANCE_CLAIM not in kinds(decision)


def test_a_rejected_load_files_a_claim_even_without_a_breach():
    decision = engine.contract_actions(
        terms(),
        facts(CLEAN, delivered=DELIVERED, release=released("0.0000", "rejected")),
        engine.REJECTED,
        set(),
    )
    (claim,) = decision.actions
    assert claim.details["grounds"] == ["the receiver rejected the load"]
    assert claim.reading_indices == tuple(range(10, 20))  # no excursion: the whole record


def test_a_partial_release_claims_only_the_rejected_share():
    decision = engine.contract_actions(
        terms(),
        facts(BREACH, delivered=DELIVERED, release=released("0.2500", "partially_released")),
        engine.PARTIALLY_RELEASED,
        set(),
    )
    (claim,) = decision.actions
    assert claim.amount == Decimal("145000.00")  # 200,000 x 0.75 - 5,000


def test_one_claim_per_shipment_however_many_grounds():
    done = {"SHP-1/insurance_claim"}
    decision = engine.contract_actions(
        terms(),
        facts(BREACH, delivered=DELIVERED, release=released("0", "rejected")),
        engine.REJECTED,
        done,
    )
    assert kinds(decision) == []


# --------------------------------------------------------------------------- payment


def test_no_payment_decision_before_the_dispute_window_has_passed():
    at_edge = facts(delivered=DELIVERED, now=DELIVERED + timedelta(hours=48) - timedelta(seconds=1))
    decision = engine.contract_actions(terms(), at_edge, engine.DELIVERED, set())
    assert decision.actions == ()
    assert decision.state == engine.DELIVERED


def test_a_clean_delivery_is_paid_in_full_after_the_dispute_window():
    decision = engine.contract_actions(
        terms(), facts(delivered=DELIVERED, now=AFTER_WINDOW), engine.DELIVERED, set()
    )
    (payment,) = decision.actions
    assert payment.kind == engine.PAYMENT_RELEASED
    assert payment.key == "SHP-1/payment"
    assert payment.amount == Decimal("10000.00")
    assert (payment.payer, payment.payee, payment.currency) == ("shipper", "carrier", "EUR")
    assert decision.state == engine.SETTLED


@pytest.mark.parametrize(
    ("late", "penalty", "paid"),
    [
        (timedelta(0), "0.00", "10000.00"),
        (timedelta(minutes=1), "100.00", "9900.00"),  # every started hour counts
        (timedelta(hours=2, minutes=30), "300.00", "9700.00"),
        (timedelta(hours=30), "500.00", "9500.00"),  # capped
    ],
)
def test_late_delivery_costs_a_penalty_per_started_hour_up_to_its_cap(late, penalty, paid):
    delivered = DEADLINE + late
    decision = engine.contract_actions(
        terms(),
        facts(delivered=delivered, now=delivered + timedelta(hours=49)),
        engine.RELEASED,
        set(),
    )
    (payment,) = decision.actions
    assert payment.details["late_penalty"] == penalty
    assert payment.amount == Decimal(paid)


def test_a_partial_release_pays_the_released_share_less_the_partial_release_penalty():
    decision = engine.contract_actions(
        terms(),
        facts(
            delivered=DELIVERED, now=AFTER_WINDOW, release=released("0.6000", "partially_released")
        ),
        engine.PARTIALLY_RELEASED,
        set(),
    )
    (payment,) = decision.actions
    assert payment.amount == Decimal("5750.00")  # 10,000 x 0.6 - 250
    assert payment.details["base"] == "6000.00"


@pytest.mark.parametrize(
    ("state", "spans", "release", "because"),
    [
        (engine.REJECTED, CLEAN, released("0", "rejected"), "rejected"),
        (engine.DELIVERED, BREACH, None, "did not release it"),
        (engine.DELIVERED, None, None, "no validated temperature record"),
    ],
)
def test_payment_is_withheld(state, spans, release, because):
    decision = engine.contract_actions(
        terms(insurance=None),
        facts(spans, delivered=DELIVERED, now=AFTER_WINDOW, release=release),
        state,
        set(),
    )
    (payment,) = decision.actions
    assert payment.kind == engine.PAYMENT_WITHHELD
    assert payment.key == "SHP-1/payment"
    assert because in payment.reason
    assert decision.state == engine.SETTLED


def test_penalties_that_take_the_whole_payment_withhold_it():
    decision = engine.contract_actions(
        terms(payment={"amount": "300"}),
        facts(delivered=DEADLINE + timedelta(hours=5), now=DEADLINE + timedelta(hours=60)),
        engine.RELEASED,
        set(),
    )
    (payment,) = decision.actions
    assert (payment.kind, payment.amount) == (engine.PAYMENT_WITHHELD, Decimal("0.00"))


def test_a_released_load_is_paid_even_after_a_breach():
    decision = engine.contract_actions(
        terms(insurance=None),
        facts(BREACH, delivered=DELIVERED, now=AFTER_WINDOW, release=released()),
        engine.RELEASED,
        set(),
    )
    assert kinds(decision) == [engine.PAYMENT_RELEASED]


@pytest.mark.parametrize("state", [engine.DISPUTED, engine.SETTLED, engine.IN_TRANSIT])
def test_no_payment_decision_while_disputed_settled_or_undelivered(state):
    decision = engine.contract_actions(
        terms(), facts(delivered=DELIVERED, now=AFTER_WINDOW), state, set()
    )
    assert decision.actions == ()
    assert decision.state == state


def test_a_payment_already_decided_is_not_decided_again():
    decision = engine.contract_actions(
        terms(), facts(delivered=DELIVERED, now=AFTER_WINDOW), engine.DELIVERED, {"SHP-1/payment"}
    )
    assert decision.actions == ()


# --------------------------------------------------------------------------- determinism


def test_the_same_input_gives_the_same_decision():
    given = (
        terms(),
        facts(BREACH, assessments=[assessment(20, "breach_soon")]),
        "in_transit",
        set(),
    )
    assert engine.contract_actions(*given) == engine.contract_actions(*given)


def test_keys_do_not_depend_on_when_or_how_much_was_seen():
    early = engine.contract_actions(terms(), facts(BREACH), engine.IN_TRANSIT, set())
    later = engine.contract_actions(
        terms(),
        facts((*BREACH, (300, 11.0)), now=DEPARTED + timedelta(hours=15)),
        engine.IN_TRANSIT,
        set(),
    )
    assert [a.key for a in early.actions] == [a.key for a in later.actions]
    assert early.actions[0].reason != later.actions[0].reason
