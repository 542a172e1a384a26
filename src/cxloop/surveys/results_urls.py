"""Routes of the results pages (namespace ``surveys``, included by ``surveys/urls.py``)."""

from django.urls import path

from cxloop.surveys import results_views as views

urlpatterns = [
    path("<int:survey_id>/results/", views.survey_results, name="view_results"),
    path("<int:survey_id>/results/comments/", views.survey_comments, name="results_comments"),
    path("<int:survey_id>/results/flagged/", views.survey_flagged, name="results_flagged"),
    path(
        "<int:survey_id>/results/flagged/<int:response_id>/restore/",
        views.restore_response,
        name="clean_responses",
    ),
    path("<int:survey_id>/results/export/", views.export_responses, name="export_responses"),
]
