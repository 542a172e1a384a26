"""The public answer pages under /s/: personal invitation links and public links (+ QR code)."""

from django.urls import path

from cxloop.surveys import public_views

app_name = "answer"

urlpatterns = [
    path("i/<str:token>/", public_views.invitation_intro, name="invitation"),
    path("i/<str:token>/answer/", public_views.invitation_answer, name="invitation_answer"),
    path("i/<str:token>/thanks/", public_views.invitation_thanks, name="invitation_thanks"),
    path("p/<str:token>/", public_views.public_intro, name="public"),
    path("p/<str:token>/answer/", public_views.public_answer, name="public_answer"),
    path("p/<str:token>/thanks/", public_views.public_thanks, name="public_thanks"),
    path("p/<str:token>/qr.svg", public_views.public_qr, {"kind": "svg"}, name="public_qr"),
    path("p/<str:token>/qr.png", public_views.public_qr, {"kind": "png"}, name="public_qr_png"),
]
