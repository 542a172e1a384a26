"""Console pages for surveys (namespace ``surveys``): the editor here, then the invitation and
results pages from their own route modules once those exist."""

from importlib import import_module
from importlib.util import find_spec

from django.urls import path

from cxloop.surveys import editor_views as views

app_name = "surveys"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("new/", views.survey_create, name="create"),
    path("import/", views.survey_import, name="import"),
    path("<int:survey_id>/edit/", views.survey_edit, name="edit"),
    path("<int:survey_id>/edit/settings/", views.settings_save, name="settings"),
    path("<int:survey_id>/edit/pages/add/", views.page_add, name="page_add"),
    path(
        "<int:survey_id>/edit/pages/<int:page_index>/add-question/",
        views.question_add,
        name="question_add",
    ),
    path(
        "<int:survey_id>/edit/pages/<int:page_index>/<slug:action>/",
        views.page_action,
        name="page_action",
    ),
    path("<int:survey_id>/edit/q/<slug:key>/", views.question_save, name="question"),
    path(
        "<int:survey_id>/edit/q/<slug:key>/condition/",
        views.condition_check,
        name="condition_check",
    ),
    path(
        "<int:survey_id>/edit/q/<slug:key>/<slug:action>/",
        views.question_action,
        name="question_action",
    ),
    path("<int:survey_id>/preview/", views.survey_preview, name="preview"),
    path("<int:survey_id>/publish/", views.survey_publish, name="publish"),
    path("<int:survey_id>/close/", views.survey_close, name="close"),
    path("<int:survey_id>/export.json", views.survey_export, name="export"),
]

# The invitations and results engineers keep their routes in their own modules.
for _module in ("cxloop.surveys.invitation_urls", "cxloop.surveys.results_urls"):
    if find_spec(_module) is not None:
        urlpatterns += import_module(_module).urlpatterns
