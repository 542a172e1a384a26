from django.urls import include, path

from cxloop.retention import views

app_name = "retention"

urlpatterns = [
    path("", views.segments, name="segments"),
    path("moves/", views.tier_moves, name="moves"),
    path("customers/", views.tier_customers, name="customers"),
    path("recalculate/", views.recalculate, name="recalculate"),
    # churn and plays
    path("churn/", include("cxloop.retention.churn_urls")),
    path("plays/", include("cxloop.retention.play_urls")),
]
