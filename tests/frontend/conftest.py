import pytest

from coldchain.models import Party
from tests.shipment_factories import make_party, make_user


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    """Model versions the tests register are saved under the test's own directory."""
    settings.ANALYTICS_MODEL_DIR = tmp_path / "models"


@pytest.fixture
def carrier(db) -> Party:
    return make_party(Party.Kind.CARRIER, name="Polar Freight")


@pytest.fixture
def carrier_user(carrier):
    return make_user(carrier, username="dispatcher")


@pytest.fixture
def signed_in(client, carrier_user):
    client.force_login(carrier_user)
    return client
