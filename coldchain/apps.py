from django.apps import AppConfig


class ColdchainConfig(AppConfig):
    name = "coldchain"
    verbose_name = "Cold chain"

    def ready(self) -> None:
        from coldchain.access import entry_readable
        from ledger.access import register_entry_read_policy

        register_entry_read_policy(entry_readable)
