from django.urls import path

from . import alert_views as views

app_name = "alerts"

urlpatterns = [
    path("insights/alerts/", views.alerts, name="alerts"),
    path("insights/alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
]
