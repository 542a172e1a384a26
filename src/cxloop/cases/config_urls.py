"""URLs of the cases settings, included at ``/cases/settings/`` (``config_views``)."""

from django.urls import path, register_converter

from cxloop.cases import config_views as views

app_name = "cases_config"


class SectionConverter:
    """Only the section slugs of ``config_views.SECTIONS`` (anything else is a 404)."""

    regex = "|".join(views.SECTIONS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SectionConverter, "case_config_section")

urlpatterns = [
    path("", views.index, name="index"),
    path("departments/<int:pk>/members/", views.member_add, name="member_add"),
    path("departments/<int:pk>/members/<int:member>/", views.member_update, name="member_update"),
    path(
        "departments/<int:pk>/members/<int:member>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("<case_config_section:section>/", views.section_list, name="list"),
    path("<case_config_section:section>/new/", views.section_new, name="new"),
    path("<case_config_section:section>/<int:pk>/", views.section_edit, name="edit"),
    path("<case_config_section:section>/<int:pk>/remove/", views.section_remove, name="remove"),
]
