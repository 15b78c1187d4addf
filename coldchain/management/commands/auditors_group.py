"""``manage.py auditors_group [--enroll]``: the admin's read-only "Auditors" group
(docs/operations.md, "Admin console")."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from coldchain.auditors import AUDITORS_GROUP, auditors_enroll, auditors_group_sync


class Command(BaseCommand):
    help = (
        f"Create or update the {AUDITORS_GROUP!r} group with every view permission of the "
        "platform's apps and none other; with --enroll, also give every user of an auditor "
        "party staff status and the group. Run again after migrations add tables."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--enroll",
            action="store_true",
            help="make the users of auditor parties staff members of the group",
        )

    def handle(self, *args, enroll: bool, **options) -> None:
        group = auditors_group_sync()
        self.stdout.write(f"{AUDITORS_GROUP}: {group.permissions.count()} view permission(s)")
        if enroll:
            self.stdout.write(f"enrolled {auditors_enroll()} auditor(s)")
