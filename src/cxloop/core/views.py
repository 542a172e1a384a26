"""Placeholder until this module is written (replaced in this session)."""

from django.http import Http404


def settings_page(request, *args, **kwargs):
    raise Http404


def audit_log(request, *args, **kwargs):
    raise Http404


def user_list(request, *args, **kwargs):
    raise Http404


def user_edit(request, *args, **kwargs):
    raise Http404
