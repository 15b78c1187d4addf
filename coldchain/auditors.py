"""Auditors in the admin console: every table visible, nothing changeable.

Users of an auditor party see everything in the dashboard already
(``coldchain.access``); in the admin they need staff status and the view
permissions, which the "Auditors" group holds. Evidence admins refuse every
change to everyone anyway; the group keeps auditors off the few editable
tables (parties, shipments, templates, webhook endpoints) and the actions.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from coldchain.models import Party

AUDITORS_GROUP = "Auditors"
# Every table of the platform's own apps (users appear through them, by name).
AUDITED_APPS = ("ledger", "devices", "analytics", "coldchain")


def auditors_group_sync() -> Group:
    """The "Auditors" group, holding exactly the view permissions of ``AUDITED_APPS``."""
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=AUDITORS_GROUP)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label__in=AUDITED_APPS, codename__startswith="view_"
            )
        )
    return group


def auditors_enroll() -> int:
    """Give every active user of an auditor party staff status and the group; how many
    were not enrolled yet. Never makes anyone a superuser or removes anything."""
    group = auditors_group_sync()
    users = get_user_model().objects.filter(
        is_active=True, membership__party__kind=Party.Kind.AUDITOR
    )
    enrolled = 0
    with transaction.atomic():
        for user in users.select_for_update():
            if user.is_staff and user.groups.filter(pk=group.pk).exists():
                continue
            user.is_staff = True
            user.save(update_fields=["is_staff"])
            user.groups.add(group)
            enrolled += 1
    return enrolled
