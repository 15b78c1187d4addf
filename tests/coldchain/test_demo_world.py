"""The demo's stakeholders: parties, one user per party, products, the template."""

import pytest
from django.contrib.auth import authenticate

from coldchain.demo_world import (
    PARTIES,
    demo_products_ensure,
    demo_template_ensure,
    demo_users_ensure,
)
from coldchain.models import ContractTemplate, Membership, Party, Product
from devices.simulator.physics import PRODUCTS as SIMULATED_PRODUCTS


@pytest.mark.django_db
def test_every_kind_of_party_has_one_user_who_signs_in_with_the_kept_password(tmp_path):
    users = demo_users_ensure(tmp_path / "passwords")
    kinds = sorted(Party.objects.values_list("kind", flat=True))
    assert kinds == sorted(
        ["shipper", "carrier", "carrier", "receiver", "insurer", "bank", "auditor"]
    )
    for user in users:
        assert (tmp_path / "passwords" / user.username).read_text() == user.password
        assert (tmp_path / "passwords" / user.username).stat().st_mode & 0o077 == 0
        signed_in = authenticate(username=user.username, password=user.password)
        assert signed_in is not None
        assert signed_in.membership.party.name == user.party
        assert signed_in.membership.role == user.role


@pytest.mark.django_db
def test_the_users_are_managers_but_for_one_operator_and_one_viewer(tmp_path):
    demo_users_ensure(tmp_path)
    roles = sorted(Membership.objects.values_list("role", flat=True))
    assert roles == ["manager"] * 5 + ["operator", "viewer"]
    assert Membership.objects.get(user__username="auditor").role == "viewer"


@pytest.mark.django_db
def test_running_again_duplicates_nothing_and_keeps_the_passwords(tmp_path):
    first = demo_users_ensure(tmp_path)
    demo_products_ensure()
    demo_template_ensure()
    second = demo_users_ensure(tmp_path)
    demo_products_ensure()
    demo_template_ensure()
    assert first == second
    assert Party.objects.count() == len(PARTIES)
    assert Membership.objects.count() == len(PARTIES)
    assert Product.objects.count() == 3
    assert ContractTemplate.objects.count() == 1


@pytest.mark.django_db
def test_the_products_are_the_simulators_with_a_band_around_their_range():
    products = demo_products_ensure()
    assert set(products) == set(SIMULATED_PRODUCTS)
    for name, simulated in SIMULATED_PRODUCTS.items():
        product = products[name]
        assert (product.temp_min_c, product.temp_max_c) == (simulated.temp_min, simulated.temp_max)
        assert product.excursion_min_c < product.temp_min_c
        assert product.excursion_max_c > product.temp_max_c
        assert 0 < product.max_single_excursion_min <= product.max_cumulative_excursion_min
