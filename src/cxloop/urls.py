from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("cxloop.api.urls")),
    path("customers/", include("cxloop.customers.urls")),
    path("surveys/", include("cxloop.surveys.analysis_urls")),
    path("surveys/", include("cxloop.surveys.urls")),
    path("alerts/", include("cxloop.alerts.urls")),
    path("programs/", include("cxloop.programs.urls")),
    path("experiments/", include("cxloop.experiments.urls")),
    path("cases/compensation/", include("cxloop.cases.compensation_urls")),
    path("cases/metrics/", include("cxloop.cases.metrics_urls")),
    path("cases/settings/", include("cxloop.cases.config_urls")),
    path("cases/", include("cxloop.cases.attachment_urls")),
    path("cases/", include("cxloop.cases.urls")),
    path("s/", include("cxloop.surveys.public_urls")),
    path("c/", include("cxloop.cases.public_urls")),
    path("retention/", include("cxloop.retention.urls")),
    path("loyalty/", include("cxloop.loyalty.urls")),
    path("platform/", include("cxloop.core.urls")),
    path("", include("cxloop.console.urls")),
]
