from django.urls import path  # noqa: F401

app_name = "insights_api"

urlpatterns: list = []
