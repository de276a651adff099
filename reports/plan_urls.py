from django.urls import path

from . import plan_views as views

app_name = "plans"

urlpatterns = [
    path("committee/plans/", views.plans, name="plans"),
    path("committee/plans/new/", views.plan_new, name="plan_new"),
    path("committee/plans/<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("committee/plans/<int:plan_id>/<slug:action>/", views.plan_action, name="plan_action"),
    path("institution/plans/", views.institution_plans, name="institution_plans"),
    path("institution/plans/<int:plan_id>/", views.institution_plan_detail, name="institution_plan_detail"),
    path(
        "institution/plans/<int:plan_id>/<slug:action>/",
        views.institution_plan_action,
        name="institution_plan_action",
    ),
]
