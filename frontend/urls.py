from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.fleet_page, name="fleet"),
    path("live/fleet.json", views.fleet_live, name="fleet-live"),
]
