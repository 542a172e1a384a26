from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "cxloop.retention"
    verbose_name = _("Retention")

    def ready(self) -> None:
        from cxloop.retention import profile_panels  # noqa: F401 - registers the profile panel
