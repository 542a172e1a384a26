"""Signal receivers of the cases app (imported by ``apps.py``, which connects them by import).

- ``case_created``: repeat detection (``repeats``), the emergency procedure (``major``);
- ``case_became_major``: the emergency procedure;
- ``case_resolved``: the satisfaction survey and the callback task (``loop``);
- surveys' ``response_submitted`` (after the submit's commit): low scores reopen, detractors
  open a follow-up case (``loop``; never raises into the submit);
- ``case_created`` and a new customer-message / details-changed event: the worker scores the
  case's texts after the commit (``text``).

The case signals are sent inside the transaction of the change, so this work commits or rolls
back with it. ``dispatch_uid`` keeps each receiver connected once.
"""

from django.db.models.signals import post_save

import cxloop.cases.config_rules  # noqa: F401 - recomputes open cases' deadlines on calendar changes
from cxloop.cases import loop, major, repeats, signals, text
from cxloop.cases.models import Case, CaseEvent
from cxloop.surveys.signals import response_submitted

signals.case_created.connect(repeats.on_case_created, sender=Case, dispatch_uid="cases.repeats")
signals.case_created.connect(major.on_case_created, sender=Case, dispatch_uid="cases.major")
signals.case_became_major.connect(
    major.on_case_became_major, sender=Case, dispatch_uid="cases.major.became"
)
signals.case_resolved.connect(loop.on_case_resolved, sender=Case, dispatch_uid="cases.loop")
response_submitted.connect(loop.on_response_submitted, dispatch_uid="cases.loop.response")
signals.case_created.connect(text.on_case_created, sender=Case, dispatch_uid="cases.text")
post_save.connect(text.on_case_event, sender=CaseEvent, dispatch_uid="cases.text.event")
