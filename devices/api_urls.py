from django.urls import path

from devices.api import DeviceDetail, DeviceList, IngestApi, ReadingDetail, ReadingList

urlpatterns = [
    path("devices/", DeviceList.as_view(), name="api-devices"),
    path("devices/<str:pk>/", DeviceDetail.as_view(), name="api-device"),
    path("ingest/", IngestApi.as_view(), name="api-ingest"),
    path("readings/", ReadingList.as_view(), name="api-readings"),
    path("readings/<int:pk>/", ReadingDetail.as_view(), name="api-reading"),
]
