"""Twilio: sending through twilio's Client, listing recent inbound messages for
reconciliation, and fetching media. Tests replace `http_client()` and `media_session()`,
the edges where bytes leave the machine."""

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from . import SendError, Sent

MEDIA_TIMEOUT = 20
API_ROOT = "https://api.twilio.com"
# Twilio's "the recipient has opted out" (the number sent STOP to this sender).
OPTED_OUT = "21610"


def http_client() -> TwilioHttpClient:
    return TwilioHttpClient(timeout=15)


def media_session() -> requests.Session:
    return requests.Session()


def client() -> Client:
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client())


def send(*, to: str, body: str, status_callback: str) -> Sent:
    try:
        message = client().messages.create(
            to=to, from_=settings.TWILIO_FROM, body=body, status_callback=status_callback
        )
    except TwilioRestException as exc:
        status = exc.status or 0
        raise SendError(str(exc.msg), code=str(exc.code or status), retry=status == 429 or status >= 500) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise SendError("connection failed", retry=True) from exc
    return Sent(provider_sid=message.sid, status=message.status or "queued")


def list_inbound(*, since) -> list[dict]:
    """Recent messages received on our number (SMS and WhatsApp), oldest first, in webhook field names."""
    twilio = client()
    messages = []
    for to in (settings.TWILIO_FROM, f"whatsapp:{settings.TWILIO_FROM}"):
        messages.extend(twilio.messages.list(to=to, date_sent_after=since, page_size=100))
    # Twilio lists newest first (to the second); one phone's messages must be handled in the order sent.
    inbound = [m for m in reversed(messages) if (m.direction or "").startswith("inbound")]
    inbound.sort(key=lambda m: m.date_sent or m.date_created or since)
    return [_webhook_fields(twilio, message) for message in inbound]


def _webhook_fields(twilio: Client, message) -> dict:
    fields = {
        "MessageSid": message.sid,
        "AccountSid": message.account_sid,
        "From": message.from_,
        "To": message.to,
        "Body": message.body or "",
        "NumMedia": str(message.num_media or 0),
    }
    if int(message.num_media or 0):
        for index, media in enumerate(twilio.messages(message.sid).media.list(limit=10)):
            fields[f"MediaUrl{index}"] = API_ROOT + media.uri.removesuffix(".json")
            fields[f"MediaContentType{index}"] = media.content_type or ""
    return fields


def media_download(url: str) -> tuple[bytes, str]:
    response = media_session().get(
        url, auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN), timeout=MEDIA_TIMEOUT
    )
    response.raise_for_status()
    return response.content, response.headers.get("Content-Type", "")
