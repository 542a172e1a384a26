from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "cxloop.core"
    label = "core"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from cxloop.core import signals  # noqa: F401  (user audit hooks)
        from cxloop.core.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
