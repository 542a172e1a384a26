from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("cxloop.api.urls")),
    path("customers/", include("cxloop.customers.urls")),
    path("surveys/", include("cxloop.surveys.urls")),
    path("s/", include("cxloop.surveys.public_urls")),
    path("platform/", include("cxloop.core.urls")),
    path("", include("cxloop.console.urls")),
]
