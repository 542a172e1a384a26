from django.urls import path

from cxloop.cases import cluster_views, metrics_views

app_name = "case_metrics"

urlpatterns = [
    path("", metrics_views.metrics_page, name="page"),
    path("clusters/", cluster_views.clusters_page, name="clusters"),
]
