from django.urls import path

from devices.api import IngestApi

urlpatterns = [
    path("ingest/", IngestApi.as_view(), name="api-ingest"),
]
