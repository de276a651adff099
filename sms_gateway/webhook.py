"""Checking that a webhook request really comes from Twilio."""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, get_signature_algorithm

SIMULATOR_ACCOUNT_SID = "AC" + "5" * 32
_ALGORITHMS = {HMAC_SHA1, HMAC_SHA256}


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
    if not _signed(RequestValidator(token), public_url(request), _Fields(request.POST.lists()), signature, algorithm):
        return False
    return _same(request.POST.get("AccountSid", ""), account_sid())


class _Fields(dict):
    """The form as the validator reads a MultiDict: each name's values, without the AttributeError
    it raises and catches for every field of a QueryDict."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def _signed(validator: RequestValidator, url: str, fields: _Fields, signature: str, algorithm: str) -> bool:
    """The validator's own check, after a first try on the URL as it is: validate() computes the
    signature twice, with and without the port, since Twilio signs either way."""
    known = algorithm.upper() in _ALGORITHMS  # validate() refuses (and logs) any other
    if known and _same(validator.compute_signature(url, fields, algorithm), signature):
        return True
    return validator.validate(url, fields, signature, algorithm)


def _same(given: str, expected: str) -> bool:
    # As bytes: compare_digest refuses str with characters outside ASCII, which a forger may send.
    return hmac.compare_digest(given.encode(), expected.encode())
