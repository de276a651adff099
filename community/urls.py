from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "community"

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("committee/plans/", views.plans, name="plans"),
]
