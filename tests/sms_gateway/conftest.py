"""Twilio-shaped webhooks signed by twilio's own RequestValidator, and a stub of Twilio's
HTTP edge so that nothing leaves the machine."""

import itertools
import json
import logging
import xml.etree.ElementTree as ET

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from twilio.http.http_client import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from sms_gateway.providers import twilio as twilio_provider

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://convive.example.org"
PHONE = "+50499887766"
OUR_NUMBER = "+15005550006"
_sids = itertools.count(1)


@pytest.fixture(autouse=True)
def _twilio_settings(settings):
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM = OUR_NUMBER
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.SMS_BACKEND = "twilio"
    settings.PHONE_HASH_KEY = "test-phone-hash-key"
    settings.REPLY_ADDRESS_KEY = Fernet.generate_key().decode()
    settings.SMS_DEFAULT_LANGUAGE = "es"


def new_sid() -> str:
    return f"SM{next(_sids):032x}"


def payload(body: str = "", *, from_: str = PHONE, sid: str | None = None, **extra) -> dict[str, str]:
    """The fields Twilio posts for an inbound SMS (WhatsApp adds ProfileName, WaId, Latitude...)."""
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid or new_sid(),
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": "",
        "FromState": "Cortés",
        "SmsStatus": "received",
        "FromCity": "San Pedro Sula",
        "Body": body,
        "FromCountry": "HN",
        "To": OUR_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "ApiVersion": "2010-04-01",
    }
    params["MessageSid"] = params["SmsSid"] = params["SmsMessageSid"]
    params.update(extra)
    return params


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


class Phone:
    """A resident's phone talking to the webhook."""

    def __init__(self, client: Client, number: str = PHONE, channel: str = "sms") -> None:
        self.client, self.number, self.channel = client, number, channel

    @property
    def address(self) -> str:
        return f"whatsapp:{self.number}" if self.channel == "whatsapp" else self.number

    def post(self, params: dict, path: str = "/sms/twilio/", signature: str | None = None):
        signature = signature if signature is not None else sign(PUBLIC + path, params)
        return self.client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

    def send(self, body: str = "", **extra):
        return self.post(payload(body, from_=self.address, **extra))

    def say(self, body: str = "", **extra) -> str:
        """Send and return the reply text."""
        response = self.send(body, **extra)
        assert response.status_code == 200, response.status_code
        return reply_text(response)


def reply_text(response) -> str:
    root = ET.fromstring(response.content)
    return "\n".join(node.text or "" for node in root.iter("Message"))


@pytest.fixture
def phone(client, geo) -> Phone:
    return Phone(client)


class FakeTwilioHttp(HttpClient):
    """Twilio's REST edge: records each request and answers from a queue (default: a queued message)."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), False)
        self.requests: list[dict] = []
        self.responses: list[tuple[int, dict]] = []

    def queue(self, status: int, body: dict) -> None:
        self.responses.append((status, body))

    def request(
        self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        self.requests.append({"method": method, "url": url, "params": params, "data": data})
        status, body = self.responses.pop(0) if self.responses else (201, _message_resource(data))
        return Response(status, json.dumps(body))


def _message_resource(data) -> dict:
    sid = new_sid()
    return {"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID, "body": (data or {}).get("Body", "")}


@pytest.fixture
def twilio_http(monkeypatch) -> FakeTwilioHttp:
    fake = FakeTwilioHttp()
    monkeypatch.setattr(twilio_provider, "http_client", lambda: fake)
    return fake
