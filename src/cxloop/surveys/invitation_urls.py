"""Console routes for invitations, triggers and sample campaigns (namespace ``surveys``)."""

from django.urls import path

from cxloop.surveys import invitation_views as views

urlpatterns = [
    path("<int:survey_id>/invitations/", views.invitation_list, name="invitations"),
    path("<int:survey_id>/invitations/sample/", views.sample_campaign, name="sample"),
    path("<int:survey_id>/triggers/", views.trigger_list, name="triggers"),
    path("<int:survey_id>/triggers/new/", views.trigger_create, name="trigger_create"),
    path("triggers/<int:trigger_id>/edit/", views.trigger_edit, name="trigger_edit"),
    path("triggers/<int:trigger_id>/toggle/", views.trigger_toggle, name="trigger_toggle"),
]
