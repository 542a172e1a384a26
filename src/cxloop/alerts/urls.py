"""Anomaly alerts on daily KPI series."""

from django.urls import path

from cxloop.alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<int:pk>/", views.alert_detail, name="detail"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("subscriptions/<int:pk>/delete/", views.unsubscribe, name="unsubscribe"),
]
