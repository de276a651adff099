from django.apps import AppConfig


class SmsGatewayConfig(AppConfig):
    name = "sms_gateway"
    verbose_name = "SMS gateway"

    def ready(self) -> None:
        from reports.hooks import status_listener_register

        from .services import report_status_changed

        status_listener_register(report_status_changed)
