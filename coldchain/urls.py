from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("devices.api_urls")),
    path("api/v1/ledger/", include("ledger.api_urls")),
    path("", include("frontend.urls")),
]
