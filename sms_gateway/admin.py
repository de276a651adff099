"""Read-only views of the SMS gateway for administrators. No phone number exists to show:
reporters are hashes, reply addresses are encrypted and never displayed."""

from django.contrib import admin
from django.http import HttpRequest

from .models import Conversation, InboundMedia, InboundMessage, OutboundMessage, Reporter


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Reporter)
class ReporterAdmin(ReadOnlyAdmin):
    list_display = ("pseudonym", "channel", "language", "opted_out", "created_at", "last_message_at")
    list_filter = ("channel", "language", "opted_out")
    exclude = ("reply_address",)
    search_fields = ("address_hash",)

    @admin.display(description="pseudonym")
    def pseudonym(self, obj: Reporter) -> str:
        return obj.address_hash[:12]


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("message_sid", "channel", "status", "source", "received_at", "processed_at", "attempts")
    list_filter = ("status", "channel", "source")
    search_fields = ("message_sid",)
    date_hierarchy = "received_at"
    raw_id_fields = ("reporter", "conversation")


@admin.register(InboundMedia)
class InboundMediaAdmin(ReadOnlyAdmin):
    list_display = ("message", "index", "content_type", "status", "attached", "attempts")
    list_filter = ("status", "attached")
    raw_id_fields = ("message",)


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel", "state", "language", "is_open", "notify", "report", "last_message_at")
    list_filter = ("state", "channel", "language", "is_open")
    raw_id_fields = ("reporter", "report")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "error_code", "attempts", "provider_sid", "created_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("provider_sid",)
    raw_id_fields = ("reporter", "report")
