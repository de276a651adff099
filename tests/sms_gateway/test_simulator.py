"""The phone simulator: who may use it, and that what it signs passes the real webhook."""

import json

import pytest

from sms_gateway.models import InboundMessage, Reporter

from .conftest import reply_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_ACCOUNT_SID = ""


def sign(client, **fields):
    return client.post("/sms/simulator/sign/", json.dumps(fields), content_type="application/json")


def test_it_lets_only_administrators_use_it_outside_demo_mode(cast, client_for, settings):
    settings.DEMO_MODE = False
    assert client_for(None).get("/sms/simulator/").status_code == 302
    assert client_for(cast["member_a"]).get("/sms/simulator/").status_code == 404
    assert client_for(cast["analyst"]).get("/sms/simulator/").status_code == 404
    assert client_for(cast["admin"]).get("/sms/simulator/").status_code == 200
    assert sign(client_for(None), body="Hola").status_code == 404
    assert sign(client_for(cast["member_a"]), body="Hola").status_code == 404


def test_it_lets_everyone_try_it_in_demo_mode(client, geo, demo):
    assert client.get("/sms/simulator/").status_code == 200


def test_it_signs_messages_that_the_real_webhook_accepts(client, geo, demo):
    signed = sign(client, **{"from": "+50499990001", "body": "Hola", "channel": "sms"}).json()
    response = client.post("/sms/twilio/", signed["params"], HTTP_X_TWILIO_SIGNATURE=signed["signature"])
    assert response.status_code == 200
    assert "Responda con un numero" in reply_text(response)
    assert InboundMessage.objects.get().body == "Hola"
    assert Reporter.objects.get().channel == "sms"


def test_it_sends_whatsapp_locations(client, geo, demo):
    fields = {"from": "+50499990001", "body": "", "channel": "whatsapp", "latitude": "15.5", "longitude": "-88.1"}
    signed = sign(client, **fields).json()
    assert signed["params"]["From"] == "whatsapp:+50499990001"
    client.post("/sms/twilio/", signed["params"], HTTP_X_TWILIO_SIGNATURE=signed["signature"])
    message = InboundMessage.objects.get()
    assert (message.channel, message.latitude, message.longitude) == ("whatsapp", 15.5, -88.1)


def test_it_refuses_simulator_signatures_once_twilio_is_configured(client, geo, demo, settings):
    signed = sign(client, **{"from": "+50499990001", "body": "Hola"}).json()
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ACCOUNT_SID = "real-token", "AC" + "2" * 32
    response = client.post("/sms/twilio/", signed["params"], HTTP_X_TWILIO_SIGNATURE=signed["signature"])
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_it_refuses_everything_without_a_token_outside_demo_mode(client, geo, demo, settings):
    signed = sign(client, **{"from": "+50499990001", "body": "Hola"}).json()
    settings.DEMO_MODE = False
    response = client.post("/sms/twilio/", signed["params"], HTTP_X_TWILIO_SIGNATURE=signed["signature"])
    assert response.status_code == 403
