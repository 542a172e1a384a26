from django.contrib.auth import views as auth_views
from django.urls import path

from cxloop.console import views

app_name = "console"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="console/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("understand/", views.understand, name="understand"),
    path("loop/<slug:section>/", views.section, name="section"),
    path("static-lib/plotly.min.js", views.plotly_js, name="plotly_js"),
    path("", views.home, name="home"),
]
