import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cxloop.customers import importing
from cxloop.customers.import_views import STAGED_KEY
from cxloop.customers.models import Customer, ImportJob
from cxloop.customers.validation import BAD_PHONE

UPLOAD = reverse("customers:import_upload")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"  # the assertions read English text
    return settings.MEDIA_ROOT


def csv_upload(rows, name="customers.csv", encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(encoding), "text/csv")


GOOD_AND_BAD = [["客户编号", "姓名", "手机"], ["C1", "王芳", "13800138000"], ["C2", "李强", "12"]]


def upload(client, capture, rows=GOOD_AND_BAD, **extra):
    with capture(execute=True):
        return client.post(UPLOAD, {"kind": "customers", "file": csv_upload(rows), **extra})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [UPLOAD, reverse("customers:imports")],
)
def test_import_pages_need_the_import_permission(url, owner_client, teammate_client,
                                                 outsider_client, analyst_client):  # fmt: skip
    assert owner_client.get(url).status_code == 200
    for client in (teammate_client, outsider_client, analyst_client):
        assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_job_pages_need_the_import_permission(owner, teammate_client, outsider_client, client):
    job = ImportJob.objects.create(kind="customers", file_name="x.csv", created_by=owner)
    for name in ("customers:import_detail", "customers:import_progress"):
        url = reverse(name, args=[job.pk])
        assert teammate_client.get(url).status_code == 403
        assert outsider_client.get(url).status_code == 403
        assert client.get(url).status_code == 302  # anonymous: to the login page


@pytest.mark.django_db
def test_teammate_cannot_upload(teammate_client, django_capture_on_commit_callbacks):
    assert upload(teammate_client, django_capture_on_commit_callbacks).status_code == 403
    assert not ImportJob.objects.exists() and not Customer.objects.exists()


@pytest.mark.django_db
def test_owner_uploads_and_sees_the_report(owner, owner_client, django_capture_on_commit_callbacks):
    response = upload(owner_client, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:import_detail", args=[job.pk])
    assert job.status == "done" and job.created_by == owner
    assert (job.created_count, job.error_count) == (1, 1)
    assert Customer.objects.get().name == "王芳"

    page = owner_client.get(response["Location"])
    assert page.status_code == 200
    assert "手机" in page.content.decode()  # the column as named in the file
    assert BAD_PHONE in page.content.decode()  # the reason (English in tests)
    assert 'hx-trigger="every 1s"' not in page.content.decode()  # done: no polling

    errors = owner_client.get(response["Location"] + "?download=errors")
    lines = b"".join(errors.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,value,reason" and lines[1].startswith("3,手机,12,")

    listing = owner_client.get(reverse("customers:imports")).content.decode()
    assert "customers.csv" in listing


@pytest.mark.django_db
def test_wrong_file_type_is_a_form_error(owner_client):
    bad = SimpleUploadedFile("notes.txt", b"hello", "text/plain")
    response = owner_client.post(UPLOAD, {"kind": "customers", "file": bad})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    fake_xlsx = SimpleUploadedFile("book.xlsx", b"not a zip", "application/octet-stream")
    response = owner_client.post(UPLOAD, {"kind": "customers", "file": fake_xlsx})
    assert response.context["form"].errors["file"]
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_too_large_file_is_refused(owner_client, monkeypatch):
    monkeypatch.setattr("cxloop.customers.forms.MAX_UPLOAD_BYTES", 10)
    response = owner_client.post(UPLOAD, {"kind": "customers", "file": csv_upload(GOOD_AND_BAD)})
    assert response.context["form"].errors["file"]


@pytest.mark.django_db
def test_mapping_step_when_columns_are_not_recognised(
    owner_client, media_root, django_capture_on_commit_callbacks
):
    rows = [["code", "full name", "cell"], ["C1", "Ann", "13800138000"]]
    response = upload(owner_client, django_capture_on_commit_callbacks, rows=rows)
    assert response.status_code == 200 and not ImportJob.objects.exists()
    form = response.context["form"]
    assert form.headers == ["code", "full name", "cell"]
    token = owner_client.session[STAGED_KEY]["token"]

    missing = owner_client.post(UPLOAD, {"token": token, "column_0": "", "column_2": "phone"})
    assert missing.status_code == 200 and missing.context["form"].non_field_errors()

    twice = {"token": token, "column_0": "external_id", "column_1": "name", "column_2": "name"}
    assert owner_client.post(UPLOAD, twice).context["form"].non_field_errors()

    chosen = {"token": token, "column_0": "external_id", "column_1": "name", "column_2": "phone"}
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(UPLOAD, chosen)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.status == "done", job.message
    assert job.mapping == {"code": "external_id", "full name": "name", "cell": "phone"}
    assert Customer.objects.get().phone == "13800138000"
    assert STAGED_KEY not in owner_client.session


@pytest.mark.django_db
def test_review_mapping_on_request_and_stale_token(
    owner_client, django_capture_on_commit_callbacks
):
    response = upload(owner_client, django_capture_on_commit_callbacks, review_mapping="on")
    assert response.status_code == 200
    assert response.context["form"]["column_2"].initial == "phone"  # detected, pre-selected
    stale = owner_client.post(UPLOAD, {"token": "nope", "column_0": "external_id"})
    assert stale.status_code == 302 and stale["Location"] == UPLOAD


@pytest.mark.django_db
def test_progress_partial_polls_while_running_and_refreshes_when_done(owner, owner_client):
    job = ImportJob.objects.create(
        kind="orders", file_name="o.csv", status="running", total_rows=200, processed_rows=50
    )
    url = reverse("customers:import_progress", args=[job.pk])
    body = owner_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in body and 'value="25"' in body
    ImportJob.objects.filter(pk=job.pk).update(status="done", processed_rows=200)
    response = owner_client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' not in response.content.decode()
    assert response["HX-Refresh"] == "true"


@pytest.mark.django_db
def test_missing_job_is_404(owner_client):
    assert owner_client.get(reverse("customers:import_detail", args=[999])).status_code == 404


@pytest.mark.django_db
def test_failed_job_shows_its_message(owner_client, tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("订单号\nO1\n", encoding="utf-8")
    job = importing.import_path(kind="orders", path=path)
    body = owner_client.get(reverse("customers:import_detail", args=[job.pk])).content.decode()
    assert "customer_external_id" in body


# --- export ---------------------------------------------------------------------------------

EXPORT = reverse("customers:export")


@pytest.fixture
def customer(db):
    return Customer.objects.create(external_id="C1", phone="13800138000", email="a@b.cn")


@pytest.mark.django_db
def test_export_permissions(customer, owner_client, analyst_client, teammate_client,
                            outsider_client):  # fmt: skip
    query = {"kind": "customers", "format": "csv"}
    analyst = analyst_client.get(EXPORT, query)
    assert analyst.status_code == 200
    assert "138****8000" in b"".join(analyst.streaming_content).decode("utf-8-sig")
    owner = owner_client.get(EXPORT, query)
    assert "13800138000" in b"".join(owner.streaming_content).decode("utf-8-sig")
    assert teammate_client.get(EXPORT, query).status_code == 403
    assert outsider_client.get(EXPORT, query).status_code == 403


@pytest.mark.django_db
def test_export_xlsx_download(customer, analyst_client):
    response = analyst_client.get(EXPORT, {"kind": "orders", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert b"".join(response.streaming_content).startswith(b"PK")


@pytest.mark.django_db
def test_export_bad_options_are_400(analyst_client):
    assert analyst_client.get(EXPORT, {"kind": "secrets"}).status_code == 400
    assert analyst_client.get(EXPORT, {"kind": "orders", "format": "pdf"}).status_code == 400
    assert analyst_client.get(EXPORT, {"kind": "orders", "date_from": "x"}).status_code == 400
