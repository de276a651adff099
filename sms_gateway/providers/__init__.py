"""SMS providers as small plug-ins: each sends one message and reports its provider id."""

from dataclasses import dataclass

from django.conf import settings


class SendError(Exception):
    """A send that failed; `retry` says whether trying again later can help."""

    def __init__(self, message: str, *, code: str = "", retry: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retry = retry


@dataclass(frozen=True)
class Sent:
    provider_sid: str
    status: str


def backend():
    from . import console, twilio

    return {"twilio": twilio, "console": console}[settings.SMS_BACKEND]
