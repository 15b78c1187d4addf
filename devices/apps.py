from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices and readings"

    def ready(self) -> None:
        from devices.evidence import reading_context, select_device, select_reading, select_vehicle
        from devices.ingest import READING_ENTRY_KIND
        from devices.ledger_checks import check_readings, check_registrations, check_rotations
        from devices.services import DEVICE_KEY_ROTATED, DEVICE_REGISTERED
        from ledger.checkers import register_checker
        from ledger.evidence import register_evidence_context, register_evidence_selector

        register_checker(READING_ENTRY_KIND, check_readings)
        register_checker(DEVICE_REGISTERED, check_registrations)
        register_checker(DEVICE_KEY_ROTATED, check_rotations)
        register_evidence_context(READING_ENTRY_KIND, reading_context)
        register_evidence_selector("device", select_device)
        register_evidence_selector("reading", select_reading)
        register_evidence_selector("vehicle", select_vehicle)
