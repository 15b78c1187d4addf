"""After ingest, the platform's own processes evaluate the shipment: Celery beat's
evaluation tick and sequencer, a real worker, Redis and PostgreSQL."""

import pytest
from django.conf import settings

from coldchain.models import Alert, Assessment, ShipmentDirty
from ledger.services import log_seal
from tests.coldchain.rule_models import register_rule_models
from tests.coldchain.trips import make_trip
from tests.support.processes import PlatformEnv, wait_until

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def platform(tmp_path):
    env = PlatformEnv(mqtt_url="mqtt://127.0.0.1:1", var_dir=tmp_path / "var")
    env.variables.update(
        EVALUATION_DEBOUNCE_S="1",
        # The models this test registers, where the test process saved them.
        ANALYTICS_MODEL_DIR=str(settings.ANALYTICS_MODEL_DIR),
    )
    yield env
    env.close()


def succeeded(platform) -> str:
    return "\n".join(line for line in platform.log("worker").splitlines() if "succeeded" in line)


def test_ingested_batches_are_evaluated_once_by_the_workers(platform):
    register_rule_models()
    trip = make_trip()
    spiking = trip.device_ids[1]
    for start in range(0, 60, 10):  # six batches, as six bridge flushes
        trip.ingest(
            range(start, start + 10),
            lambda device, minute: 30.0 if device == spiking and minute >= 40 else 5.0,
        )
    assert ShipmentDirty.objects.filter(shipment=trip.shipment).count() == 1
    log_seal()  # so the first evaluation finds every reading indexed
    platform.worker(concurrency=1)
    platform.beat()
    assessed = wait_until(
        lambda: (
            not ShipmentDirty.objects.exists()
            and Assessment.objects.filter(shipment=trip.shipment).count() == 11
        ),
        timeout=60,
        interval=0.5,
    )
    assert assessed, platform.log("worker")
    assert wait_until(lambda: "evaluate_shipment" in succeeded(platform), timeout=10)
    received = [line for line in platform.log("worker").splitlines() if "received" in line]
    assert sum("coldchain.evaluate_shipment[" in line for line in received) == 1
    alert = Alert.objects.get(shipment=trip.shipment)
    assert alert.kind == "sensor_fault"
