from django.urls import path

from cxloop.cases import action_views, views

app_name = "cases"

urlpatterns = [
    path("", views.queue, name="home"),
    path("queue/<slug:name>/", views.queue, name="queue"),
    path("new/", views.case_new, name="new"),
    path("bulk-assign/", views.bulk_assign, name="bulk_assign"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/<slug:action>/", action_views.case_action, name="act"),
]
