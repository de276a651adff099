from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from reports.admin import ViewOnlyMixin

from .models import Alert, AwarenessCampaign

AREA_BOUNDARIES = ("area__boundary", "area__boundary_display")


@admin.register(AwarenessCampaign)
class AwarenessCampaignAdmin(admin.ModelAdmin):
    """Weeks an awareness campaign invited reports: kept out of early-warning baselines in the area,
    the areas below it and the areas above it."""

    list_display = ("area", "starts_on", "ends_on", "note")
    list_select_related = ("area",)
    search_fields = ("area__name", "area__code", "note")
    date_hierarchy = "starts_on"
    autocomplete_fields = ("area",)
    fields = ("area", "starts_on", "ends_on", "note")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AwarenessCampaign]:
        return super().get_queryset(request).defer(*AREA_BOUNDARIES)


@admin.register(Alert)
class AlertAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Raised by the weekly early-warning run and acknowledged on the alerts page, never by hand."""

    list_display = ("week", "area", "group", "observed", "expected", "threshold", "p_value", "acknowledged_at")
    list_filter = ("group", "week", ("acknowledged_at", admin.EmptyFieldListFilter))
    list_select_related = ("area", "acknowledged_by")
    search_fields = ("area__name", "area__code")
    date_hierarchy = "week"
    fields = (
        "area",
        "group",
        "week",
        "observed",
        "expected",
        "threshold",
        "p_value",
        "dispersion",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
        "acknowledgement",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        return super().get_queryset(request).defer(*AREA_BOUNDARIES)
