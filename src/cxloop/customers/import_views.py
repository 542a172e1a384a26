"""Console pages for importing customers/orders from CSV/XLSX, and the export download."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from cxloop.core.roles import require
from cxloop.customers import exporting, importing
from cxloop.customers.forms import (
    ExportForm,
    ImportMappingForm,
    ImportUploadForm,
    required_labels,
)
from cxloop.customers.models import ImportJob

IMPORT_PERMISSION = "customers.import_data"
STAGED_KEY = "cxloop_import_staged"  # session: the upload waiting for its column mapping


@login_required
@require_GET
def import_list(request):
    require(request.user, IMPORT_PERMISSION)
    jobs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    return render(request, "customers/import_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    require(request.user, IMPORT_PERMISSION)
    if request.method == "POST" and "token" in request.POST:
        return _confirm_mapping(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        return _receive_upload(request, form)
    return render(request, "customers/import_upload.html", {"form": form})


def _receive_upload(request, form: ImportUploadForm):
    """Step one: store the file; start at once, or ask for the mapping first."""
    upload, kind = form.cleaned_data["file"], form.cleaned_data["kind"]
    stored = importing.store_file(source=upload, file_name=upload.name)
    try:
        headers = importing.read_headers(stored)
    except importing.ImportFileError as exc:
        stored.unlink(missing_ok=True)
        form.add_error("file", str(exc))
        return render(request, "customers/import_upload.html", {"form": form})
    detected = importing.detect_mapping(headers, kind)
    missing = importing.missing_fields(kind, detected)
    if not missing and not form.cleaned_data["review_mapping"]:
        job = importing.start_import(
            kind=kind, path=stored, file_name=upload.name, actor=request.user
        )
        return redirect("customers:import_detail", job_id=job.pk)
    staged = {"token": stored.name, "kind": kind, "file_name": upload.name, "headers": headers}
    request.session[STAGED_KEY] = staged
    mapping_form = ImportMappingForm(
        initial={"token": stored.name}, kind=kind, headers=headers, detected=detected
    )
    return _render_mapping(request, mapping_form, staged)


def _confirm_mapping(request):
    """Step two: start the import with the columns the user chose."""
    staged = request.session.get(STAGED_KEY)
    if not staged or staged["token"] != request.POST.get("token"):
        messages.error(request, _("That upload has expired; please upload the file again."))
        return redirect("customers:import_upload")
    form = ImportMappingForm(
        request.POST, kind=staged["kind"], headers=staged["headers"], detected={}
    )
    if not form.is_valid():
        return _render_mapping(request, form, staged)
    job = importing.start_import(
        kind=staged["kind"],
        path=importing.upload_dir() / staged["token"],
        mapping=form.mapping(),
        file_name=staged["file_name"],
        actor=request.user,
    )
    del request.session[STAGED_KEY]
    return redirect("customers:import_detail", job_id=job.pk)


def _render_mapping(request, form: ImportMappingForm, staged: dict):
    context = {"form": form, "staged": staged, "required": required_labels(staged["kind"])}
    return render(request, "customers/import_mapping.html", context)


@login_required
@require_GET
def import_detail(request, job_id: int):
    require(request.user, IMPORT_PERMISSION)
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=job_id)
    if request.GET.get("download") == "errors":
        return _errors_csv(job)
    errors = Paginator(job.errors, 50).get_page(request.GET.get("page"))
    return render(request, "customers/import_detail.html", {"job": job, "errors": errors})


def _errors_csv(job: ImportJob) -> StreamingHttpResponse:
    rows = ([e["row"], e["column"], e["value"], _(e["reason"])] for e in job.errors)
    headers = [_("row"), _("column"), _("value"), _("reason")]
    chunks = (chunk.encode("utf-8") for chunk in exporting.csv_chunks(headers, rows))
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@login_required
@require_GET
def import_progress(request, job_id: int):
    """The htmx partial the detail page polls every second while the job runs."""
    require(request.user, IMPORT_PERMISSION)
    job = get_object_or_404(ImportJob, pk=job_id)
    response = render(request, "customers/_import_progress.html", {"job": job})
    if request.htmx and job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        response["HX-Refresh"] = "true"  # reload the page once to show the error report
    return response


@login_required
@require_GET
def export_download(request):
    require(request.user, "customers.export_data")
    form = ExportForm(request.GET)
    if not form.is_valid():
        message = _("Unknown export options: %s") % form.errors.as_text()
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
    return exporting.export_response(
        kind=form.cleaned_data["kind"],
        fmt=form.cleaned_data["format"] or "csv",
        user=request.user,
        filters=form.filters(),
    )
