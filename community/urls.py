from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "community"

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    # Django's LogoutView answers POST only: a link or an image cannot log anyone out.
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
