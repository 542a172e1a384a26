from django.http import Http404
from django.urls import path


def token_list(request):
    raise Http404


urlpatterns = [path("", token_list, name="list")]
