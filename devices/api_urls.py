from django.urls import path

from devices.api import IngestApi, ReadingDetail, ReadingList

urlpatterns = [
    path("ingest/", IngestApi.as_view(), name="api-ingest"),
    path("readings/", ReadingList.as_view(), name="api-readings"),
    path("readings/<int:pk>/", ReadingDetail.as_view(), name="api-reading"),
]
