from django.urls import include, path

from cxloop.loyalty import views

app_name = "loyalty"

urlpatterns = [
    path("", views.index, name="index"),
    path("customers/<int:customer_id>/", views.customer_points, name="customer"),
    path("customers/<int:customer_id>/adjust/", views.adjust, name="adjust"),
    path("customers/<int:customer_id>/redeem/", views.redeem, name="redeem"),
    path("adjustments/", views.approvals, name="approvals"),
    path("adjustments/<int:pk>/decide/", views.decide, name="decide"),
    path("rewards/", views.rewards, name="rewards"),
    path("rules/", views.rules, name="rules"),
    path("rules/new/", views.edit, {"kind": "rule"}, name="rule_new"),
    path("rules/<int:pk>/", views.edit, {"kind": "rule"}, name="rule_edit"),
    path("campaigns/new/", views.edit, {"kind": "campaign"}, name="campaign_new"),
    path("campaigns/<int:pk>/", views.edit, {"kind": "campaign"}, name="campaign_edit"),
    path("rewards/new/", views.edit, {"kind": "reward"}, name="reward_new"),
    path("rewards/<int:pk>/", views.edit, {"kind": "reward"}, name="reward_edit"),
    # Levels, stars and referrals (their names live in this namespace too).
    path("", include("cxloop.loyalty.level_urls")),
]
