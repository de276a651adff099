from django.urls import path

from .consumers import CommitteeConsumer

websocket_urlpatterns = [
    path("ws/committee/<int:committee_id>/", CommitteeConsumer.as_asgi()),
]
