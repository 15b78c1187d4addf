from django.apps import AppConfig


class ColdchainConfig(AppConfig):
    name = "coldchain"
    verbose_name = "Cold chain"
