from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from leaflet.admin import LeafletGeoAdmin

from .models import ArmsSighting, AuditEntry, Category, Photo, Report, TriageEvent
from .selectors import normalise_tracking_code

AREA_BOUNDARIES = ("area__boundary", "area__boundary_display")


class ViewOnlyMixin:
    """Rows written only by the intake and triage services.

    Photos must pass the metadata-stripping pipeline and the audit trail must match the
    status changes it records, so neither is written by hand here.
    """

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("code", "names", "group", "iccs_code", "is_arms", "is_sensitive", "sort_order", "is_active")

    def clean_names(self) -> dict:
        names = self.cleaned_data["names"]
        if not isinstance(names, dict) or not all(isinstance(name, str) and name.strip() for name in names.values()):
            raise ValidationError(_('Give one name per language code, e.g. {"en": "Gunfire", "es": "Disparos"}.'))
        languages = [code for code, _label in settings.LANGUAGES]
        # Residents see the name in their own language, so every offered language needs one.
        if set(names) != set(languages):
            raise ValidationError(
                _("Give a name for exactly these language codes: %(codes)s.") % {"codes": ", ".join(languages)}
            )
        return names


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("code", "name", "group", "iccs_code", "is_arms", "is_sensitive", "is_active", "sort_order")
    list_filter = ("group", "is_arms", "is_sensitive", "is_active")
    search_fields = ("code", "iccs_code")


class ArmsSightingInline(admin.StackedInline):
    model = ArmsSighting
    extra = 0
    max_num = 1


class PhotoInline(ViewOnlyMixin, admin.TabularInline):
    # Photos are private media with no public URL, so the admin shows their facts, not their pixels.
    model = Photo
    extra = 0
    fields = ("width", "height", "created_at")


class TriageEventInline(ViewOnlyMixin, admin.TabularInline):
    model = TriageEvent
    extra = 0
    fields = ("at", "from_status", "to_status", "actor", "note")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TriageEvent]:
        return super().get_queryset(request).select_related("actor")


@admin.register(Report)
class ReportAdmin(LeafletGeoAdmin):
    list_display = ("tracking_code", "category", "area", "status", "channel", "created_at")
    list_select_related = ("category", "area")
    list_filter = ("status", "channel", "category")
    search_fields = ("tracking_code",)
    date_hierarchy = "created_at"
    inlines = (ArmsSightingInline, PhotoInline, TriageEventInline)
    # The point decides the area and who sees the report; moving it is not an admin edit.
    modifiable = False
    fieldsets = (
        (None, {"fields": ("tracking_code", "status", "duplicate_of", "category", "priority", "channel", "language")}),
        (
            gettext_lazy("What happened"),
            {"fields": ("description", "occurred_at", "occurred_precision", "affected_sex", "affected_age_band")},
        ),
        (gettext_lazy("Where"), {"fields": ("area", "location_source", "location")}),
        (gettext_lazy("Record"), {"fields": ("created_at", "updated_at")}),
    )
    # Status changes go through triage so that each one leaves a TriageEvent.
    readonly_fields = (
        "tracking_code",
        "status",
        "duplicate_of",
        "channel",
        "language",
        "area",
        "location_source",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return super().get_queryset(request).select_related("category", "area").defer(*AREA_BOUNDARIES)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Report], search_term: str):
        # Codes are typed as read: "abcde-fghjk" finds ABCDEFGHJK.
        code = normalise_tracking_code(search_term)
        if code is not None:
            return queryset.filter(tracking_code=code), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Reports enter through the intake channels, which allocate the tracking code,
        # resolve the area from the point and open the audit trail.
        return False


@admin.register(ArmsSighting)
class ArmsSightingAdmin(admin.ModelAdmin):
    list_display = ("report", "weapon_type", "weapon_count", "activity", "people_count")
    list_filter = ("weapon_type", "activity")
    list_select_related = ("report",)
    search_fields = ("report__tracking_code",)
    autocomplete_fields = ("report",)


@admin.register(Photo)
class PhotoAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("report", "width", "height", "created_at")
    list_select_related = ("report",)
    search_fields = ("report__tracking_code",)
    fields = ("report", "width", "height", "created_at")


@admin.register(TriageEvent)
class TriageEventAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("report", "at", "from_status", "to_status", "actor")
    list_filter = ("to_status",)
    list_select_related = ("report", "actor")
    search_fields = ("report__tracking_code",)
    date_hierarchy = "at"
    fields = ("report", "at", "from_status", "to_status", "actor", "note")


@admin.register(AuditEntry)
class AuditEntryAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Who looked at or did what, and when: for administrators to review, never to rewrite."""

    list_display = ("at", "actor", "action", "report", "plan")
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), "at")
    list_select_related = ("actor", "report", "plan")
    search_fields = ("report__tracking_code",)
    date_hierarchy = "at"
    fields = ("at", "actor", "action", "report", "plan", "detail")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[AuditEntry], search_term: str):
        # Codes are typed as read: "abcde-fghjk" finds every entry about ABCDEFGHJK.
        code = normalise_tracking_code(search_term)
        if code is not None:
            return queryset.filter(report__tracking_code=code), False
        return super().get_search_results(request, queryset, search_term)
