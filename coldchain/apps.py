from django.apps import AppConfig


class ColdchainConfig(AppConfig):
    name = "coldchain"
    verbose_name = "Cold chain"

    def ready(self) -> None:
        from coldchain import contract_checks, contract_entries
        from ledger.checkers import register_checker

        register_checker(contract_entries.CONTRACT_ACTIVATED, contract_checks.check_activations)
        register_checker(contract_entries.SHIPMENT_TRANSITION, contract_checks.check_transitions)
        register_checker(contract_entries.CONTRACT_ACTION, contract_checks.check_actions)
        register_checker(contract_entries.RELEASE_SIGNED, contract_checks.check_releases)
