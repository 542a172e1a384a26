from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("cxloop.api.urls")),
    path("customers/", include("cxloop.customers.urls")),
    path("surveys/", include("cxloop.surveys.urls")),
    path("cases/compensation/", include("cxloop.cases.compensation_urls")),
    path("cases/metrics/", include("cxloop.cases.metrics_urls")),
    path("cases/settings/", include("cxloop.cases.config_urls")),
    path("cases/", include("cxloop.cases.attachment_urls")),
    path("cases/", include("cxloop.cases.urls")),
    path("s/", include("cxloop.surveys.public_urls")),
    path("c/", include("cxloop.cases.public_urls")),
    path("platform/", include("cxloop.core.urls")),
    path("", include("cxloop.console.urls")),
]
