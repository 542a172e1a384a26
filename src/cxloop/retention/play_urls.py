"""Retention play pages, included by retention/urls.py under ``plays/``."""

from django.urls import path

from cxloop.retention import play_views

urlpatterns = [
    path("", play_views.play_list, name="plays"),
    path("new/", play_views.play_new, name="play_new"),
    path("run/", play_views.play_run, name="plays_run"),
    path("<int:pk>/", play_views.play_detail, name="play_detail"),
    path("<int:pk>/edit/", play_views.play_edit, name="play_edit"),
    path("<int:pk>/run/", play_views.play_run, name="play_run"),
]
