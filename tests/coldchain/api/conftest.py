import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from coldchain.models import Party
from ledger.services import log_seal
from tests.analytics.boosters import register_both
from tests.coldchain.api.contract_world import ContractWorld, make_contract_world
from tests.coldchain.api.world import World, make_side
from tests.shipment_factories import make_party, make_user
from tests.support.module_data import module_transaction, own_copy


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    """Throttle counters live in the cache (Redis in tests) and outlive a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def built_world(django_db_setup, django_db_blocker, tmp_path_factory) -> World:
    with module_transaction(django_db_blocker, ANALYTICS_MODEL_DIR=tmp_path_factory.mktemp("m")):
        yield make_world()


@pytest.fixture
def world(db, built_world) -> World:
    return own_copy(built_world)


def make_world() -> World:
    models = register_both()
    a, b = make_side(models, "truck-a"), make_side(models, "truck-b")
    log_seal()
    staff = make_user(None)
    staff.is_staff = True
    staff.save()
    return World(
        a=a,
        b=b,
        auditor=make_user(make_party(Party.Kind.AUDITOR)),
        staff=staff,
        partyless=make_user(None),
    )


def client_for(user) -> APIClient:
    """A client that authenticates the way integrations do: with the user's token."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture(scope="module")
def built_contracts(django_db_setup, django_db_blocker, tmp_path_factory) -> ContractWorld:
    with module_transaction(django_db_blocker, ANALYTICS_MODEL_DIR=tmp_path_factory.mktemp("m")):
        yield make_contract_world()


@pytest.fixture
def contracts(db, built_contracts) -> ContractWorld:
    return own_copy(built_contracts)
