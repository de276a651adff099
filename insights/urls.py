from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.dashboard, name="dashboard"),
    path("insights/map.json", views.map_data, name="map"),
    path("open-data/", views.open_data, name="open_data"),
]
