from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExperimentsConfig(AppConfig):
    name = "cxloop.experiments"
    verbose_name = _("Experiments")

    def ready(self) -> None:
        from cxloop.cases.models import Case
        from cxloop.cases.signals import case_created
        from cxloop.experiments.services import on_case_created

        # Inside the case's transaction: the assignment commits or rolls back with the case.
        case_created.connect(on_case_created, sender=Case, dispatch_uid="experiments.assign")
