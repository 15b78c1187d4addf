from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("coldchain.api.urls")),
    path("api/v1/", include("devices.api_urls")),
    path("api/v1/ledger/", include("ledger.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("frontend.urls")),
]

handler404 = "coldchain.api.errors.page_not_found"
handler500 = "coldchain.api.errors.server_error"
