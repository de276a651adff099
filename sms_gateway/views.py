"""Twilio webhooks (inbound, fallback, status callback) and the phone simulator.

Nothing here logs a request body or a sender: a phone number must never reach a log line.
"""

import json
import logging
import secrets
from xml.sax.saxutils import escape

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from twilio.request_validator import RequestValidator

from . import identity, services, webhook

logger = logging.getLogger("convive.sms")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def twiml(reply: str) -> HttpResponse:
    if not reply:
        return HttpResponse(EMPTY_TWIML, content_type="text/xml; charset=utf-8")
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(reply)}</Message></Response>'
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """405, 413 or 403 for what must not be stored; None when the request may go on."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.SMS_MAX_REQUEST_BYTES:
        return HttpResponse(status=413)
    try:
        request.POST  # noqa: B018 - parse now, inside the size guards
    except (RequestDataTooBig, TooManyFieldsSent):
        return HttpResponse(status=413)
    if not webhook.request_is_authentic(request):
        logger.warning("refused an SMS webhook with a missing or wrong signature")
        return HttpResponse(status=403)
    return None


@csrf_exempt
@sensitive_post_parameters()
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    try:
        inbound = services.inbound_parse(request.POST)
    except (identity.InvalidAddress, ValueError):
        # Signed by Twilio but not a message we can answer (no sender, no id): retrying cannot help.
        logger.warning("ignored a signed SMS webhook without a usable sender or MessageSid")
        return twiml("")
    return twiml(services.inbound_receive(inbound=inbound))


@csrf_exempt
@sensitive_post_parameters()
def twilio_status(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    sid = request.POST.get("MessageSid", "")
    status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus", "")
    services.outbound_status_update(provider_sid=sid, status=status, error_code=request.POST.get("ErrorCode", ""))
    return HttpResponse(status=204)


@csrf_exempt  # like the webhook it stands beside, so that both pass the same middleware
def bare_twiml(request: HttpRequest) -> HttpResponse:
    """The cheapest possible answer on the same stack; the intake benchmark's yardstick."""
    if not (settings.DEBUG or settings.DEMO_MODE):
        return HttpResponse(status=404)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


def _simulator_allowed(request: HttpRequest) -> bool:
    return settings.DEMO_MODE or (request.user.is_authenticated and request.user.is_superuser)


def simulator(request: HttpRequest) -> HttpResponse:
    if not _simulator_allowed(request):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return HttpResponse(status=404)
    context = {"webhook_url": reverse("sms_gateway:twilio_inbound"), "sign_url": reverse("sms_gateway:simulator_sign")}
    return render(request, "sms_gateway/simulator.html", context)


def simulator_sign(request: HttpRequest) -> HttpResponse:
    """Build and sign a Twilio-shaped message; the browser then posts it to the real webhook."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not _simulator_allowed(request):
        return HttpResponse(status=404)
    try:
        fields = json.loads(request.body or b"{}")
    except ValueError:
        return HttpResponse(status=400)
    params = _simulated_message(fields)
    url = settings.PUBLIC_BASE_URL + reverse("sms_gateway:twilio_inbound")
    signature = RequestValidator(webhook.auth_token()).compute_signature(url, params)
    return JsonResponse({"params": params, "signature": signature})


def _simulated_message(fields: dict) -> dict[str, str]:
    channel_prefix = "whatsapp:" if fields.get("channel") == "whatsapp" else ""
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": webhook.account_sid(),
        "From": channel_prefix + str(fields.get("from", ""))[:20],
        "To": channel_prefix + (settings.TWILIO_FROM or "+15005550006"),
        "Body": str(fields.get("body", ""))[: settings.SMS_MAX_BODY_CHARS],
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }
    if fields.get("latitude") not in (None, "") and fields.get("longitude") not in (None, ""):
        params["Latitude"], params["Longitude"] = str(fields["latitude"]), str(fields["longitude"])
    return params
