"""The customer's pages under /c/: the feedback form and the progress page of a signed link."""

from django.urls import path

from cxloop.cases import public_views

app_name = "case_public"

urlpatterns = [
    path("new/", public_views.new_case, name="new"),
    path("<str:token>/", public_views.progress, name="progress"),
]
