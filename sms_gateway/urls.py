from django.urls import path

from . import views

app_name = "sms_gateway"

urlpatterns = [
    path("twilio/", views.twilio_inbound, name="twilio_inbound"),
    path("twilio/fallback/", views.twilio_inbound, name="twilio_fallback"),
    path("twilio/status/", views.twilio_status, name="twilio_status"),
    path("twilio/bare/", views.bare_twiml, name="bare_twiml"),
    path("simulator/", views.simulator, name="simulator"),
    path("simulator/sign/", views.simulator_sign, name="simulator_sign"),
]
