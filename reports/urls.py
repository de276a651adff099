from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("report/", views.report_form, name="report"),
    path("report/sent/", views.report_sent, name="sent"),
    path("report/areas.geojson", views.areas_geojson, name="areas_geojson"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.track_detail, name="track_detail"),
]
