from django.urls import include, path

urlpatterns = [
    path("tokens/", include(("cxloop.api.token_urls", "api_tokens"))),
]
