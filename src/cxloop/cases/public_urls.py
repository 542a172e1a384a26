"""The customer's pages under /c/: the feedback form, the progress page of a signed link and
the files the customer sent with it."""

from django.urls import path

from cxloop.cases import attachment_views, public_views

app_name = "case_public"

urlpatterns = [
    path("new/", public_views.new_case, name="new"),
    path("<str:token>/", public_views.progress, name="progress"),
    path(
        "<str:token>/files/<int:attachment_id>/",
        attachment_views.public_download,
        name="attachment",
    ),
]
