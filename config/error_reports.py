from django.views.debug import SafeExceptionReporterFilter


class AlwaysSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Hide sensitive POST fields and variables on error pages and in error mails, DEBUG or not:
    a phone number must not appear on a developer's screen either."""

    def is_active(self, request) -> bool:
        return True
