import pytest
from django.test import override_settings

from tests.factories import make_device


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Tests create hundreds of users; the production hasher costs most of a second each."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def device(db):
    return make_device()


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One small trained model pair for the session, from the simulator's data."""
    from analytics.dataset import MidTripFault, dataset_build
    from analytics.training import dataset_load, dataset_train

    out_dir = tmp_path_factory.mktemp("training")
    # Failures on every truck-day: a fleet this small sees few breaches otherwise,
    # too few for the breach_soon model to learn from.
    dense = (
        MidTripFault("reefer_failure", 1.0, (6.0, 16.0)),
        MidTripFault("door_left_open", 1.0, (1.0, 4.0)),
    )
    dataset_build(out_dir=out_dir, trucks=12, days=2, seed=5, fault_rate=8.0, mid_trip=dense)
    # One thread: on a shared 2-core machine a second OpenMP thread made this
    # training several times slower, not faster.
    return dataset_train(dataset_load(out_dir), seed=5, threads=1)
