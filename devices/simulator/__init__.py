"""Device simulator: thermal physics, fault injection, offline datasets and an MQTT publisher.

Django-free: ``manage.py simulate`` parses arguments and provisions devices,
everything else lives here.
"""
