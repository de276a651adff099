"""Pseudonymous reporter identity: a keyed hash for recognising a phone, an encrypted reply
address for answering it, and nothing else."""

import hashlib
import hmac
from dataclasses import dataclass, field

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from .models import Channel

WHATSAPP_PREFIX = "whatsapp:"


class InvalidAddress(ValueError):
    """The sender address is not a phone number we can use."""


@dataclass(frozen=True)
class Address:
    # Kept out of repr so that no traceback, log line or error page can show the number.
    e164: str = field(repr=False)
    channel: str = "sms"

    @property
    def provider_address(self) -> str:
        """The address as Twilio expects it, channel prefix included."""
        return f"{WHATSAPP_PREFIX}{self.e164}" if self.channel == Channel.WHATSAPP else self.e164


@sensitive_variables()
def address_parse(raw: str) -> Address:
    """`+50499990000` or `whatsapp:+50499990000` to E.164 and channel."""
    text = (raw or "").strip()
    channel = Channel.SMS
    if text.lower().startswith(WHATSAPP_PREFIX):
        channel, text = Channel.WHATSAPP, text[len(WHATSAPP_PREFIX) :]
    try:
        number = phonenumbers.parse(text, settings.SMS_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidAddress
    return Address(e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), channel=channel)


@sensitive_variables()
def address_hash(e164: str) -> str:
    key = settings.PHONE_HASH_KEY
    if not key:
        raise ImproperlyConfigured("PHONE_HASH_KEY must be set to receive SMS.")
    return hmac.new(key.encode(), e164.encode(), hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    key = settings.REPLY_ADDRESS_KEY
    if not key:
        raise ImproperlyConfigured("REPLY_ADDRESS_KEY must be set to receive SMS.")
    return Fernet(key.encode())


@sensitive_variables()
def reply_address_encrypt(address: Address) -> bytes:
    return _fernet().encrypt(address.provider_address.encode())


@sensitive_variables()
def reply_address_decrypt(token: bytes | memoryview | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except InvalidToken:
        return None
