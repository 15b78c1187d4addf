from django.apps import AppConfig


class ColdchainConfig(AppConfig):
    name = "coldchain"
    verbose_name = "Cold chain"

    def ready(self) -> None:
        from coldchain import contract_checks, contract_entries
        from coldchain.access import entry_readable
        from coldchain.anchoring import ALERT_NOTE_KIND, ASSESSMENT_KIND
        from coldchain.contract_triggers import contract_evaluation_on_event
        from coldchain.evaluation_queue import shipments_mark_dirty_on_readings
        from coldchain.evidence import select_shipment
        from coldchain.ledger_checks import check_alert_notes, check_assessments
        from coldchain.signals import shipment_event
        from coldchain.webhooks import receivers, tasks  # noqa: F401  (connect and register)
        from devices.signals import readings_stored
        from ledger.access import register_entry_read_policy
        from ledger.checkers import register_checker
        from ledger.evidence import register_evidence_selector

        register_checker(ASSESSMENT_KIND, check_assessments)
        register_checker(ALERT_NOTE_KIND, check_alert_notes)
        register_checker(contract_entries.CONTRACT_ACTIVATED, contract_checks.check_activations)
        register_checker(contract_entries.SHIPMENT_TRANSITION, contract_checks.check_transitions)
        register_checker(contract_entries.CONTRACT_ACTION, contract_checks.check_actions)
        register_checker(contract_entries.RELEASE_SIGNED, contract_checks.check_releases)
        register_evidence_selector("shipment", select_shipment)
        readings_stored.connect(
            shipments_mark_dirty_on_readings, dispatch_uid="coldchain.evaluation_queue"
        )
        shipment_event.connect(
            contract_evaluation_on_event, dispatch_uid="coldchain.contract_triggers"
        )
        register_entry_read_policy(entry_readable)
