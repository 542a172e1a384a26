"""Programmes: the suggestion scheme 服务金点子 (public form and console), the improvement list
and mystery-shopper audits."""

from django.urls import path

from cxloop.programs import audit_views, public_views, views

app_name = "programs"

urlpatterns = [
    path("ideas/new/", public_views.new_idea, name="idea_public"),
    path("ideas/", views.idea_list, name="ideas"),
    path("ideas/submit/", views.idea_new, name="idea_new"),
    path("ideas/<int:pk>/", views.idea_detail, name="idea"),
    path("ideas/<int:pk>/adopt/", views.idea_adopt, name="idea_adopt"),
    path("ideas/<int:pk>/<slug:move>/", views.idea_move, name="idea_move"),
    path("improvements/", views.action_list, name="actions"),
    path("improvements/new/", views.action_edit, name="action_new"),
    path("improvements/<int:pk>/", views.action_edit, name="action"),
    path("audits/", audit_views.audit_list, name="audits"),
    path("audits/<int:pk>/", audit_views.audit_detail, name="audit"),
    path("audits/new/<int:template_id>/", audit_views.audit_new, name="audit_new"),
    path("audits/scores/", audit_views.store_scores, name="scores"),
    path("audits/templates/", audit_views.template_list, name="templates"),
    path("audits/templates/new/", audit_views.template_edit, name="template_new"),
    path("audits/templates/<int:pk>/", audit_views.template_edit, name="template"),
]
