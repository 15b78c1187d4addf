from django.apps import AppConfig


class ColdchainConfig(AppConfig):
    name = "coldchain"
    verbose_name = "Cold chain"

    def ready(self) -> None:
        # Connects the signal receivers and registers the Celery tasks.
        from coldchain.webhooks import receivers, tasks  # noqa: F401
