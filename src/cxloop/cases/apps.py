from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cxloop.cases"
    label = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from cxloop.cases import (
            profile_panels,  # noqa: F401 - the customer profile panel
            receivers,  # noqa: F401 - connects the signal receivers
        )
        from cxloop.cases.defaults import connect_defaults

        connect_defaults()  # SLA rules, taxonomy and departments of the plans, once
