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


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """A dozen users per test: the production hasher costs most of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    """Throttle counters live in the cache (Redis in tests) and outlive a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db) -> World:
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


@pytest.fixture
def contracts(db) -> ContractWorld:
    return make_contract_world()
