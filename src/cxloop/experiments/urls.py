from django.urls import path

from cxloop.experiments import views

app_name = "experiments"

urlpatterns = [
    path("", views.experiment_list, name="list"),
    path("new/", views.experiment_new, name="new"),
    path("<int:pk>/", views.experiment_detail, name="detail"),
    path("<int:pk>/edit/", views.experiment_edit, name="edit"),
    path("<int:pk>/<slug:action>/", views.experiment_move, name="move"),
]
