from django.urls import path

from . import board, views, workspace

app_name = "reports"

urlpatterns = [
    path("report/", views.report_form, name="report"),
    path("report/sent/", views.report_sent, name="sent"),
    path("report/areas.geojson", views.areas_geojson, name="areas_geojson"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.track_detail, name="track_detail"),
    # Committee workspace
    path("committee/", board.board, name="board"),
    path("committee/map.geojson", board.board_geojson, name="board_geojson"),
    path("committee/reports/<int:report_id>/", workspace.report_detail, name="report_detail"),
    path("committee/reports/<int:report_id>/<slug:action>/", workspace.report_action, name="report_action"),
    path("committee/photos/<int:photo_id>/<slug:kind>/", workspace.photo_file, name="photo_file"),
]
