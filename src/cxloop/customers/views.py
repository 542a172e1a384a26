"""Placeholder until this module is written (replaced in this session)."""

from django.http import Http404


def customer_list(request, *args, **kwargs):
    raise Http404


def customer_detail(request, *args, **kwargs):
    raise Http404
