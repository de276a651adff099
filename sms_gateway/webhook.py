"""Checking that a webhook request really comes from Twilio."""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator, get_signature_algorithm

SIMULATOR_ACCOUNT_SID = "AC" + "5" * 32


def auth_token() -> str:
    """Twilio's auth token; in demo mode without Twilio, a key only the phone simulator holds."""
    if settings.TWILIO_AUTH_TOKEN:
        return settings.TWILIO_AUTH_TOKEN
    if settings.DEMO_MODE:
        return hmac.new(settings.SECRET_KEY.encode(), b"sms-simulator", hashlib.sha256).hexdigest()
    return ""


def account_sid() -> str:
    return settings.TWILIO_ACCOUNT_SID or (SIMULATOR_ACCOUNT_SID if settings.DEMO_MODE else "")


def public_url(request: HttpRequest) -> str:
    """The URL Twilio signed: the public address, not the one a TLS-terminating proxy forwarded to."""
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def request_is_authentic(request: HttpRequest) -> bool:
    token, signature = auth_token(), request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    if not RequestValidator(token).validate(public_url(request), request.POST, signature, algorithm):
        return False
    return hmac.compare_digest(request.POST.get("AccountSid", ""), account_sid())
