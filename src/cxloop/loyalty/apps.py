from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "cxloop.loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from cxloop.customers.signals import order_status_changed
        from cxloop.loyalty import (
            profile_panels,  # noqa: F401 - the customer profile panel
            receivers,
        )

        # Completed orders earn points, refunded ones give them back (loyalty/receivers.py).
        order_status_changed.connect(
            receivers.on_order_status_changed, dispatch_uid="cxloop.loyalty.order_points"
        )
        # Levels, stars and referrals (after the points: an order earns at the level held
        # before it, then may upgrade).
        from cxloop.loyalty.level_receivers import connect_level_hooks

        connect_level_hooks()
