"""Placeholder until this module is written (replaced in this session)."""

from django.http import Http404


def export_download(request, *args, **kwargs):
    raise Http404


def import_list(request, *args, **kwargs):
    raise Http404


def import_upload(request, *args, **kwargs):
    raise Http404


def import_detail(request, *args, **kwargs):
    raise Http404


def import_progress(request, *args, **kwargs):
    raise Http404
