"""manage.py install_default_model: register the model shipped with the code, if none is active."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from analytics.default_model import SHIPPED_DIR, ShippedModelError, default_model_install


class Command(BaseCommand):
    help = (
        "Register and activate the default models shipped in analytics/default_model, "
        "unless both tasks already have an active model."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--or-train",
            action="store_true",
            help="If the shipped model cannot be used, train the default instead (minutes)",
        )

    def handle(self, *args, **options) -> None:
        try:
            versions = default_model_install()
        except ShippedModelError as error:
            if not options["or_train"]:
                raise CommandError(str(error)) from None
            self.stdout.write(f"install_default_model: {error}; training the default instead")
            call_command("train_model", if_missing=True, stdout=self.stdout)
            return
        if versions is None:
            self.stdout.write("install_default_model: active models exist; nothing to do")
            return
        for version in versions.values():
            self.stdout.write(f"{version} (active) installed from {SHIPPED_DIR}")
