from django.apps import AppConfig
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _queue_triggers(sender, event, **kwargs) -> None:
    # Imported on first use: the trigger module pulls in the customer selectors (and openpyxl),
    # which every web and worker process would otherwise pay for at start-up.
    from cxloop.surveys.triggers import on_event_recorded

    on_event_recorded(sender, event=event, **kwargs)


def _imported_orders_to_events(sender, delivered, **kwargs) -> None:
    from cxloop.surveys.triggers import IMPORTED_EVENT_WINDOW, events_for_imported_orders

    # Importing history is the common case: look up only the orders delivered just now.
    recent = timezone.now() - IMPORTED_EVENT_WINDOW
    fresh = [key for key, moment in delivered if moment is not None and moment >= recent]
    if fresh:
        events_for_imported_orders(order_external_ids=fresh)


def _response_saved(sender, instance, **kwargs) -> None:
    # Marks the day for the metric rollup, in the saving transaction (see surveys/rollups.py).
    from cxloop.surveys.rollups import on_response_saved

    on_response_saved(sender, instance=instance, **kwargs)


class SurveysConfig(AppConfig):
    name = "cxloop.surveys"
    label = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from cxloop.core.events import event_recorded
        from cxloop.customers.signals import orders_imported
        from cxloop.surveys import profile_panels  # noqa: F401 - the customer profile panel
        from cxloop.surveys.signals import response_submitted
        from cxloop.surveys.text import on_response_submitted

        # A submitted response → the worker scores its comment (sentiment, aspects).
        response_submitted.connect(on_response_submitted, dispatch_uid="cxloop.surveys.text")
        # Events (order delivered, …) → survey invitations through the triggers.
        event_recorded.connect(_queue_triggers, dispatch_uid="cxloop.surveys.triggers")
        # Imported delivered orders become order.delivered events for the same triggers.
        orders_imported.connect(
            _imported_orders_to_events, dispatch_uid="cxloop.surveys.imported_orders"
        )
        # A submitted response saved (submit, restore, exclude) → its day's rollup is stale.
        post_save.connect(
            _response_saved, sender="surveys.Response", dispatch_uid="cxloop.surveys.rollups"
        )
