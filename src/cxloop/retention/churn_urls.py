"""Churn pages, included by retention/urls.py under ``churn/`` (names in the retention space)."""

from django.urls import path

from cxloop.retention import churn_views

urlpatterns = [
    path("", churn_views.model_page, name="churn_model"),
    path("retrain/", churn_views.retrain, name="churn_retrain"),
    path("risk/", churn_views.risk_list, name="churn_risk"),
    path("risk/win-back/", churn_views.start_winback, name="churn_winback"),
]
