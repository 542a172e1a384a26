from django.urls import path

from cxloop.cases import metrics_views

app_name = "case_metrics"

urlpatterns = [
    path("", metrics_views.metrics_page, name="page"),
]
