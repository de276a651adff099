from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from reports.hooks import validation_listener_register

        from .rollup import report_validation_changed

        validation_listener_register(report_validation_changed)
