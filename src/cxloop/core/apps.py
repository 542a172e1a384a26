from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "cxloop.core"
    label = "core"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from cxloop.core import signals  # noqa: F401  (user audit hooks)
        from cxloop.core.roles import ensure_roles

        # post_migrate fires once per app and each app's permissions appear at its own turn:
        # refresh the roles after the last app with models, when all permissions exist.
        last = [config for config in apps.get_app_configs() if config.models_module][-1]
        post_migrate.connect(ensure_roles, sender=last, dispatch_uid="cxloop.ensure_roles")
