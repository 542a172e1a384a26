"""Case attachments in the console, under /cases/<case id>/attachments/ (included before the
cases urls, whose ``<pk>/<action>/`` would otherwise take the path)."""

from django.urls import path

from cxloop.cases import attachment_views

app_name = "cases_attachment"

urlpatterns = [
    path("<int:pk>/attachments/", attachment_views.upload, name="upload"),
    path(
        "<int:pk>/attachments/<int:attachment_id>/",
        attachment_views.download,
        name="download",
    ),
    path(
        "<int:pk>/attachments/<int:attachment_id>/remove/",
        attachment_views.remove,
        name="remove",
    ),
]
