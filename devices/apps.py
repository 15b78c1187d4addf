from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices and readings"

    def ready(self) -> None:
        from devices.ingest import READING_ENTRY_KIND
        from devices.ledger_checks import check_readings, check_registrations
        from devices.services import DEVICE_REGISTERED
        from ledger.checkers import register_checker

        register_checker(READING_ENTRY_KIND, check_readings)
        register_checker(DEVICE_REGISTERED, check_registrations)
