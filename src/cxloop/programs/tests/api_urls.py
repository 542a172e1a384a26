"""A urlconf for the ideas API tests: the real API's settings with the ideas router mounted,
whether or not api/api.py registers it yet."""

from django.urls import path
from ninja import NinjaAPI

from cxloop.api.api import Renderer
from cxloop.api.auth import API_AUTH
from cxloop.api.errors import JsonParser, install_error_handlers
from cxloop.api.routers import ideas

api = NinjaAPI(
    title="ideas test",
    version="test",
    urls_namespace="ideas_test_api",
    auth=API_AUTH,
    parser=JsonParser(),
    renderer=Renderer(),
    docs_url=None,
)
install_error_handlers(api)
api.add_router("/ideas", ideas.router)

urlpatterns = [path("api/v1/", api.urls)]
