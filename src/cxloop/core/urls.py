from django.urls import path

from cxloop.core import outbox_views, views

app_name = "core"

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("audit/", views.audit_log, name="audit"),
    path("users/", views.user_list, name="users"),
    path("users/<int:user_id>/", views.user_edit, name="user_edit"),
    path("outbox/", outbox_views.outbox_list, name="outbox"),
    path("outbox/<int:message_id>/", outbox_views.outbox_detail, name="outbox_detail"),
    path("outbox/<int:message_id>/retry/", outbox_views.outbox_retry, name="outbox_retry"),
]
