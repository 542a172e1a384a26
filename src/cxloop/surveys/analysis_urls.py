"""Routes of the survey analysis pages (namespace ``survey_analysis``, under /surveys/)."""

from django.urls import path

from cxloop.surveys import analysis_views as views

app_name = "survey_analysis"

urlpatterns = [
    path("<int:survey_id>/analysis/kano/", views.kano_page, name="kano"),
    path("<int:survey_id>/analysis/drivers/", views.drivers_page, name="drivers"),
    path("<int:survey_id>/analysis/clusters/", views.clusters_page, name="clusters"),
]
