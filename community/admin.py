from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from leaflet.admin import LeafletGeoAdmin

from .models import ActionPlan, ActionPlanEvent, Area, Committee, Institution, Membership, Place

# Real boundaries run to thousands of vertices: lists and autocompletes leave them out,
# and only the change page loads them, for the map.
BOUNDARY_FIELDS = ("boundary", "boundary_display", "parent__boundary", "parent__boundary_display")


class AreaChoicesMixin:
    """Many-to-many pickers list every area by name; the boundaries are not needed for that."""

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.related_model is Area:
            kwargs["queryset"] = Area.objects.defer("boundary", "boundary_display")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Area)
class AreaAdmin(LeafletGeoAdmin):
    list_display = ("name", "level", "code", "parent", "population")
    list_filter = ("level",)
    list_select_related = ("parent",)
    search_fields = ("name", "code")
    autocomplete_fields = ("parent",)
    fields = ("name", "code", "level", "parent", "population", "boundary", "boundary_display")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Area]:
        return super().get_queryset(request).select_related("parent").defer(*BOUNDARY_FIELDS)


@admin.register(Place)
class PlaceAdmin(LeafletGeoAdmin):
    list_display = ("name", "aliases", "area")
    list_select_related = ("area",)
    search_fields = ("name", "aliases")
    autocomplete_fields = ("area",)
    fields = ("name", "aliases", "area", "point")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Place]:
        return super().get_queryset(request).defer("area__boundary", "area__boundary_display")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "joined_at")
    readonly_fields = ("joined_at",)


@admin.register(Committee)
class CommitteeAdmin(AreaChoicesMixin, admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    filter_horizontal = ("areas",)
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "committee", "role", "joined_at")
    list_filter = ("role", "committee")
    list_select_related = ("user", "committee")
    search_fields = ("user__username", "committee__name")
    autocomplete_fields = ("user", "committee")


@admin.register(Institution)
class InstitutionAdmin(AreaChoicesMixin, admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    filter_horizontal = ("jurisdiction",)
    autocomplete_fields = ("analysts",)


class ViewOnlyMixin:
    """Plans move only through the plan services, which record each change as an event and in
    the audit; an edit here would bypass both."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ActionPlanEventInline(ViewOnlyMixin, admin.TabularInline):
    model = ActionPlanEvent
    extra = 0
    fields = ("at", "from_status", "to_status", "actor", "note")
    readonly_fields = ("at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ActionPlanEvent]:
        return super().get_queryset(request).select_related("actor")


@admin.register(ActionPlan)
class ActionPlanAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("title", "committee", "status", "due_date", "updated_at")
    list_filter = ("status", "committee")
    list_select_related = ("committee",)
    search_fields = ("title", "committee__name")
    date_hierarchy = "updated_at"
    inlines = (ActionPlanEventInline,)
    fields = (
        "committee",
        "title",
        "status",
        "problem_summary",
        "measures",
        "responsible_party",
        "support_requested",
        "due_date",
        "decline_reason",
        "verification",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("created_at", "updated_at")
