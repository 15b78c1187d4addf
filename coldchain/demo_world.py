"""The demo's stakeholders: parties, a user for each, the products the
simulator carries and the contract template their shipments sign.

Every function here is idempotent: running the demo again finds what it
made the first time and changes nothing but what it owns (names, roles).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from coldchain.models import ContractTemplate, Membership, Party, Product

Kind = Party.Kind
Role = Membership.Role


@dataclass(frozen=True)
class PartySeed:
    slug: str
    name: str
    kind: str
    username: str
    role: str
    first_name: str
    last_name: str


PARTIES: tuple[PartySeed, ...] = (
    PartySeed("demo-pharma", "Demo Pharma", Kind.SHIPPER, "shipper", Role.MANAGER, "Sam", "Ortiz"),
    PartySeed(
        "northern-reefers",
        "Northern Reefers",
        Kind.CARRIER,
        "carrier-north",
        Role.MANAGER,
        "Nora",
        "Lind",
    ),
    PartySeed(
        "southern-reefers",
        "Southern Reefers",
        Kind.CARRIER,
        "carrier-south",
        Role.OPERATOR,
        "Luca",
        "Ferri",
    ),
    PartySeed(
        "city-hospital",
        "City Hospital Pharmacy",
        Kind.RECEIVER,
        "receiver",
        Role.MANAGER,
        "Ruth",
        "Meyer",
    ),
    PartySeed("cargo-mutual", "Cargo Mutual", Kind.INSURER, "insurer", Role.MANAGER, "Ian", "Shaw"),
    PartySeed("trade-bank", "Trade Bank", Kind.BANK, "bank", Role.MANAGER, "Bea", "Novak"),
    PartySeed(
        "independent-audit",
        "Independent Audit",
        Kind.AUDITOR,
        "auditor",
        Role.VIEWER,
        "Ada",
        "Quist",
    ),
)
CARRIERS = ("northern-reefers", "southern-reefers")  # trucks alternate between them
SHIPPER, RECEIVER, INSURER, BANK = "demo-pharma", "city-hospital", "cargo-mutual", "trade-bank"

# The simulator's products (devices/simulator/physics.py PRODUCTS, by name),
# with the excursions a stability budget typically allows for each.
PRODUCTS: dict[str, dict] = {
    "vaccines": {
        "name": "Vaccines, 2 to 8 °C",
        "temp_min_c": 2.0,
        "temp_max_c": 8.0,
        "excursion_min_c": 0.0,
        "excursion_max_c": 12.0,
        "max_single_excursion_min": 30.0,
        "max_cumulative_excursion_min": 60.0,
        "mkt_limit_c": 8.0,
    },
    "chilled": {
        "name": "Chilled food, 0 to 4 °C",
        "temp_min_c": 0.0,
        "temp_max_c": 4.0,
        "excursion_min_c": -2.0,
        "excursion_max_c": 7.0,
        "max_single_excursion_min": 30.0,
        "max_cumulative_excursion_min": 90.0,
        "mkt_limit_c": 4.0,
    },
    "frozen": {
        "name": "Frozen food, -25 to -15 °C",
        "temp_min_c": -25.0,
        "temp_max_c": -15.0,
        "excursion_min_c": -30.0,
        "excursion_max_c": -12.0,
        "max_single_excursion_min": 60.0,
        "max_cumulative_excursion_min": 120.0,
        "mkt_limit_c": None,
    },
}

TEMPLATE_NAME = "demo-reefer"
TEMPLATE_TERMS = {
    "payment": {
        "amount": "2400.00",
        "currency": "EUR",
        "late_penalty_per_hour": "50.00",
        "late_penalty_max": "600.00",
        "partial_release_penalty": "300.00",
    },
    "insurance": {"policy": "CM-DEMO-2026", "insured_value": "85000.00", "deductible": "2500.00"},
    # Short, so that payments are decided while the demo runs.
    "dispute_window_h": 1.0,
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    party: str
    role: str


def password_once(path: Path) -> str:
    """A password generated on first use and kept in ``path`` (owner-only), never committed."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def demo_parties_ensure() -> dict[str, Party]:
    """The demo's parties by slug."""
    parties = {}
    for seed in PARTIES:
        party, _ = Party.objects.update_or_create(
            slug=seed.slug, defaults={"name": seed.name, "kind": seed.kind}
        )
        parties[seed.slug] = party
    return parties


def demo_users_ensure(password_dir: Path) -> list[DemoUser]:
    """One user per party with its role; each password is kept in ``password_dir``."""
    parties = demo_parties_ensure()
    user_model = get_user_model()
    users = []
    for seed in PARTIES:
        password = password_once(password_dir / seed.username)
        with transaction.atomic():
            user, _ = user_model.objects.get_or_create(username=seed.username)
            user.first_name, user.last_name = seed.first_name, seed.last_name
            user.set_password(password)
            user.save()
            Membership.objects.update_or_create(
                user=user, defaults={"party": parties[seed.slug], "role": seed.role}
            )
        users.append(DemoUser(seed.username, password, parties[seed.slug].name, seed.role))
    return users


def demo_products_ensure() -> dict[str, Product]:
    """The simulator's products by name."""
    return {
        code: Product.objects.update_or_create(code=code, defaults=values)[0]
        for code, values in PRODUCTS.items()
    }


def demo_template_ensure() -> ContractTemplate:
    template, _ = ContractTemplate.objects.get_or_create(
        name=TEMPLATE_NAME,
        version=1,
        defaults={
            "description": "Demo: a reefer load, insured, paid one hour after delivery",
            "terms": TEMPLATE_TERMS,
        },
    )
    return template
