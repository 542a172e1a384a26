from django.urls import path

from cxloop.cases import compensation_views as views

app_name = "cases_compensation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("case/<int:pk>/", views.grant, name="grant"),
    path("case/<int:pk>/care/", views.care, name="care"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<int:pk>/done/", views.complete, name="complete"),
]
