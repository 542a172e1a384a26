from django.urls import path

from cxloop.customers import import_views, views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export/", import_views.export_download, name="export"),
    path("imports/", import_views.import_list, name="imports"),
    path("imports/new/", import_views.import_upload, name="import_upload"),
    path("imports/<int:job_id>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/progress/", import_views.import_progress, name="import_progress"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
]
