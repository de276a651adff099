"""SMS and WhatsApp intake: pseudonymous reporters, every inbound message, every outbound one,
and the guided conversation that turns messages into a report.

No phone number is stored in clear: a reporter is the HMAC of the E.164 number under a key
kept outside the database, and the reply address is encrypted and erased after a retention
period.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.models import Report


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")


class Reporter(models.Model):
    address_hash = models.CharField(_("address hash"), max_length=64, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.SMS)
    # Fernet token of the reply address; erased after the retention period.
    reply_address = models.BinaryField(_("encrypted reply address"), null=True, blank=True, editable=False)
    reply_address_expires_at = models.DateTimeField(_("reply address expires at"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    opted_out = models.BooleanField(_("opted out"), default=False)
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    created_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_message_at = models.DateTimeField(_("last message"), default=timezone.now)

    class Meta:
        verbose_name = _("reporter")
        verbose_name_plural = _("reporters")
        indexes = [models.Index(fields=["reply_address_expires_at"], name="reporter_reply_expiry")]

    def __str__(self) -> str:
        return f"reporter {self.address_hash[:10]}"


class InboundMessage(models.Model):
    """Stored before any other work, once per MessageSid, whatever happens next."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    message_sid = models.CharField(_("message SID"), max_length=64, unique=True)
    reporter = models.ForeignKey(Reporter, on_delete=models.PROTECT, related_name="inbound")
    conversation = models.ForeignKey(
        "Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    body = models.TextField(_("body"), blank=True)
    media = models.JSONField(_("media"), default=list, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    source = models.CharField(_("source"), max_length=16, default="webhook")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    # The reply given the first time, so a retried MessageSid gets exactly the same answer.
    reply = models.TextField(_("reply"), blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_status_received")]

    def __str__(self) -> str:
        return self.message_sid


class InboundMedia(models.Model):
    """A photo attached to an inbound message, fetched from Twilio and cleaned like web photos."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        STORED = "stored", _("Stored")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    message = models.ForeignKey(InboundMessage, on_delete=models.CASCADE, related_name="media_items")
    index = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=500)
    content_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    image = models.FileField(upload_to="sms-media/", blank=True)
    thumbnail = models.FileField(upload_to="sms-media/", blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True)
    # Copied onto the report's photos once the conversation has a report.
    attached = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("inbound media")
        verbose_name_plural = _("inbound media")
        constraints = [models.UniqueConstraint(fields=["message", "index"], name="inbound_media_unique")]

    def __str__(self) -> str:
        return f"{self.message_id}/{self.index}"


class Conversation(models.Model):
    """The guided exchange with one reporter; at most one open at a time."""

    class State(models.TextChoices):
        CATEGORY = "category", _("Choosing a category")
        WHERE = "where", _("Saying where")
        PLACE_CHOICE = "place_choice", _("Choosing among places")
        WHAT = "what", _("Describing what happened")
        WEAPON_TYPE = "weapon_type", _("Weapon type")
        WEAPON_COUNT = "weapon_count", _("Number of weapons")
        ACTIVITY = "activity", _("What was done")
        PEOPLE = "people", _("People involved")
        CONFIRM = "confirm", _("Confirming")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    reporter = models.ForeignKey(Reporter, on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.CATEGORY)
    language = models.CharField(_("language"), max_length=8)
    # Answers so far: category, place / area / point, description parts, arms answers, choices offered.
    data = models.JSONField(default=dict, blank=True)
    is_open = models.BooleanField(default=True)
    notify = models.BooleanField(_("wants status messages"), default=False)
    report = models.OneToOneField(
        Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_conversation"
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(fields=["reporter"], condition=Q(is_open=True), name="one_open_conversation"),
        ]
        indexes = [models.Index(fields=["is_open", "last_message_at"], name="conversation_open_idle")]

    def __str__(self) -> str:
        return f"conversation {self.pk} ({self.state})"


class OutboundMessage(models.Model):
    """A message to a reporter outside a webhook reply: a row first, sent by a worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        UNDELIVERED = "undelivered", _("Undelivered")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    # Provider callbacks can arrive out of order: a status only ever moves to a higher rank.
    RANK = {
        "pending": 0,
        "accepted": 1,
        "queued": 2,
        "sending": 3,
        "sent": 4,
        "undelivered": 5,
        "failed": 5,
        "delivered": 6,
        "read": 7,
        "cancelled": 8,
    }

    reporter = models.ForeignKey(Reporter, on_delete=models.CASCADE, related_name="outbound")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_updates")
    body = models.TextField(_("body"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    provider_sid = models.CharField(_("provider SID"), max_length=64, blank=True, db_index=True)
    error_code = models.CharField(_("error code"), max_length=12, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"outbound {self.pk} ({self.status})"
