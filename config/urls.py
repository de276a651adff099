from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="reports:report", permanent=False)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("sms/", include("sms_gateway.urls")),
    path("api/", include("insights.api_urls")),
    path("", include("insights.export_urls")),
    path("", include("insights.urls")),
    path("", include("community.urls")),
    path("", include("reports.plan_urls")),
    path("", include("reports.urls")),
    path("", include("insights.alert_urls")),
]
