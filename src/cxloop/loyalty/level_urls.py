"""Console URLs of levels, stars and referrals, included by ``loyalty/urls.py`` (no namespace
of their own: the names live in the ``loyalty`` namespace, prefixed to stay apart)."""

from django.urls import path

from cxloop.loyalty import level_views as views

urlpatterns = [
    path("levels/", views.levels_page, name="levels"),
    path("levels/new/", views.level_edit, name="level_new"),
    path("levels/<int:pk>/", views.level_edit, name="level_edit"),
    path("levels/settings/", views.settings_edit, name="levels_settings"),
    path("levels/stars/new/", views.stars_edit, name="stars_new"),
    path("levels/stars/<int:pk>/", views.stars_edit, name="stars_edit"),
    path("members/<int:customer_pk>/", views.member_panel, name="member_panel"),
    path("referrals/", views.referrals_page, name="referrals"),
]
