from django.apps import AppConfig


class ColdchainConfig(AppConfig):
    name = "coldchain"
    verbose_name = "Cold chain"

    def ready(self) -> None:
        from coldchain.anchoring import ALERT_NOTE_KIND, ASSESSMENT_KIND
        from coldchain.evaluation_queue import shipments_mark_dirty_on_readings
        from coldchain.ledger_checks import check_alert_notes, check_assessments
        from devices.signals import readings_stored
        from ledger.checkers import register_checker

        register_checker(ASSESSMENT_KIND, check_assessments)
        register_checker(ALERT_NOTE_KIND, check_alert_notes)
        readings_stored.connect(
            shipments_mark_dirty_on_readings, dispatch_uid="coldchain.evaluation_queue"
        )
