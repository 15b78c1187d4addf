from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics and model registry"

    def ready(self) -> None:
        from analytics.ledger_checks import check_activations, check_registrations
        from analytics.registry import MODEL_ACTIVATED, MODEL_REGISTERED
        from ledger.checkers import register_checker

        register_checker(MODEL_REGISTERED, check_registrations)
        register_checker(MODEL_ACTIVATED, check_activations)
