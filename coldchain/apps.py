from django.apps import AppConfig


class ColdchainConfig(AppConfig):
    name = "coldchain"
    verbose_name = "Cold chain"

    def ready(self) -> None:
        from coldchain import contract_entries, ledger_checks
        from ledger.checkers import register_checker

        register_checker(contract_entries.CONTRACT_ACTIVATED, ledger_checks.check_activations)
        register_checker(contract_entries.SHIPMENT_TRANSITION, ledger_checks.check_transitions)
        register_checker(contract_entries.CONTRACT_ACTION, ledger_checks.check_actions)
        register_checker(contract_entries.RELEASE_SIGNED, ledger_checks.check_releases)
