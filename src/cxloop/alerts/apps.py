from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "cxloop.alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from cxloop.alerts.defaults import connect_defaults

        connect_defaults()  # the four KPIs by store and region, once
