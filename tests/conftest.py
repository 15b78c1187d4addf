import pytest

from tests.factories import make_device


@pytest.fixture
def device(db):
    return make_device()
