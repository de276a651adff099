from django.urls import re_path

from . import export_views

app_name = "exports"

urlpatterns = [
    re_path(r"^insights/export\.(?P<fmt>csv|hxl|geojson)$", export_views.institution_export, name="institution"),
    re_path(r"^open-data/export\.(?P<fmt>csv|hxl|geojson)$", export_views.public_export, name="public"),
]
