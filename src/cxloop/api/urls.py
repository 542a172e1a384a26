from django.urls import include, path, re_path

from cxloop.api.api import api
from cxloop.api.errors import not_found, with_json_405

api_patterns, api_app, api_namespace = api.urls

urlpatterns = [
    path("v1/", (with_json_405(api_patterns), api_app, api_namespace)),
    re_path(r"^v1/", not_found),  # anything else under v1/ is a JSON 404, not an HTML page
    path("tokens/", include(("cxloop.api.token_urls", "api_tokens"))),
]
