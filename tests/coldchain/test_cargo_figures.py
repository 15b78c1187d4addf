"""The excursion figures the dashboard shows: cargo_accounting's, counted again
only when the readings they rest on change."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coldchain.cargo_figures import cargo_figures
from coldchain.contract_facts import contract_facts
from coldchain.report_data import cargo_accounting, report_data
from ledger.services import checkpoint_latest, entry_append, log_seal
from tests.contract_factories import (
    DEPARTURE,
    ingest_readings,
    load_readings,
    make_contract_shipment,
)

pytestmark = pytest.mark.django_db

NOW = DEPARTURE + timedelta(hours=3)
# 45 minutes at 10.5 °C from minute 60 (range 2-8 °C).
EXCURSION = [5.0] * 60 + [10.5] * 45 + [5.0] * 15
READINGS_QUERY = '"devices_reading"."temp_c"'


def reads_readings(function) -> bool:
    with CaptureQueriesContext(connection) as queries:
        function()
    return any(READINGS_QUERY in query["sql"] for query in queries.captured_queries)


@pytest.fixture
def in_transit():
    shipment, devices = make_contract_shipment()
    load_readings(devices, EXCURSION)
    return shipment, devices


def test_the_figures_are_those_the_contract_engine_and_the_report_compute(in_transit):
    shipment, _ = in_transit
    figures = cargo_figures(shipment, now=NOW)
    checkpoint = checkpoint_latest()
    facts = contract_facts(shipment, figures.terms, now=NOW, log_size=checkpoint.size)
    assert figures.summary.as_facts() == facts["excursions"]
    assert figures.summary == report_data(shipment, now=NOW).summary
    assert figures.checkpoint == checkpoint
    assert figures.summary.longest_minutes == 45


def test_cached_figures_are_the_same_as_counted_anew(in_transit):
    shipment, _ = in_transit
    first = cargo_figures(shipment, now=NOW)
    again = cargo_figures(shipment, now=NOW)
    assert again == first
    assert again.summary == cargo_accounting(shipment, now=NOW).summary


def test_a_second_view_does_not_load_the_readings_again(in_transit):
    shipment, _ = in_transit
    assert reads_readings(lambda: cargo_figures(shipment, now=NOW))
    assert not reads_readings(lambda: cargo_figures(shipment, now=NOW + timedelta(minutes=5)))


def test_a_checkpoint_sealing_only_other_entries_keeps_the_figures(in_transit):
    shipment, _ = in_transit
    counted = cargo_figures(shipment, now=NOW)
    entry_append(data=b"another shipment's entry", kind="test")
    log_seal()
    assert not reads_readings(lambda: cargo_figures(shipment, now=NOW))
    figures = cargo_figures(shipment, now=NOW)
    assert figures.checkpoint.size > counted.checkpoint.size
    assert figures.summary == counted.summary == cargo_accounting(shipment, now=NOW).summary


def test_readings_waiting_for_a_checkpoint_count_once_it_seals_them(in_transit):
    shipment, devices = in_transit
    before = cargo_figures(shipment, now=NOW)
    ingest_readings(devices, [11.0] * 30, first_minute=len(EXCURSION))
    assert cargo_figures(shipment, now=NOW) == before

    log_seal()
    after = cargo_figures(shipment, now=NOW)
    assert after.summary != before.summary
    assert after.summary.cumulative_minutes == 45 + 30
    assert after.summary == cargo_accounting(shipment, now=NOW).summary


def test_a_sealed_reading_stamped_later_counts_once_the_clock_passes_it(in_transit):
    shipment, _ = in_transit
    early = DEPARTURE + timedelta(minutes=70)
    partial = cargo_figures(shipment, now=early)
    assert partial.summary.longest_minutes < 45

    later = cargo_figures(shipment, now=NOW)
    assert later.summary.longest_minutes == 45
    assert later.summary == cargo_accounting(shipment, now=NOW).summary
