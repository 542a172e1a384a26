"""Signals other apps listen to (the cases app opens follow-up cases for detractors)."""

from django.dispatch import Signal

# Sent after the commit of a submit, once per response: ``response`` (a submitted Response).
response_submitted = Signal()
