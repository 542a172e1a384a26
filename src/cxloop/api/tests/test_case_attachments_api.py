"""/api/v1/cases/{number}/attachments: upload (multipart), list, download, remove; the case
detail's list; permissions, department limits and every refusal as a 4xx JSON answer."""

# ruff: noqa: F811 - the fixtures are imported below and pytest passes them by name

from __future__ import annotations

import hashlib

import pytest

from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.cases import attachments
from cxloop.cases.attachment_models import CaseAttachment
from cxloop.cases.models import CaseEvent
from cxloop.cases.tests.attachment_helpers import (  # noqa: F401 - fixtures
    EXE,
    JPEG,
    PDF,
    media_root,
    stored_files,
    upload,
)
from cxloop.cases.tests.conftest import (  # noqa: F401 - fixtures
    categories,
    departments,
    handler,
    make_case,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler_api(handler):
    return ApiClient(make_token(handler))


@pytest.fixture
def case(make_case, categories):
    return make_case(category=categories["product"])  # customer service, not logistics


def _post_file(api: ApiClient, number: str, name: str, content: bytes, field: str = "file"):
    return api.client.post(
        f"/api/v1/cases/{number}/attachments",
        {field: upload(name, content, "image/jpeg")},
        **api._headers({}),
    )


def _path(case, suffix: str = "") -> str:
    return f"/cases/{case.number}/attachments{suffix}"


def test_upload_list_download(owner_api, case, media_root):
    response = _post_file(owner_api, case.number, "破损.jpg", JPEG)
    assert response.status_code == 201, response.json()
    body = response.json()
    row = CaseAttachment.objects.get()
    assert body["id"] == row.pk and body["name"] == "破损.jpg"
    assert body["content_type"] == "image/jpeg" and body["size_bytes"] == len(JPEG)
    assert body["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert body["uploaded_via"] == "api" and body["uploaded_by"] == "owner"
    assert body["created_at"].endswith("+08:00")
    url = f"http://testserver/api/v1/cases/{case.number}/attachments/{row.pk}/file"
    assert body["download_url"] == url
    assert row.case == case and case.events.filter(kind=CaseEvent.Kind.ATTACHMENT_ADDED).exists()

    listed = owner_api.get(_path(case))
    assert listed.status_code == 200 and listed.json() == {"items": [body]}
    assert owner_api.get(f"/cases/{case.number}").json()["attachments"] == [body]

    download = owner_api.client.get(url, **owner_api._headers({}))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == JPEG
    assert download["Content-Type"] == "image/jpeg"
    assert download["X-Content-Type-Options"] == "nosniff"


def test_a_pdf_downloads_as_an_attachment(owner_api, case, media_root):
    row_id = _post_file(owner_api, case.number, "发票.pdf", PDF).json()["id"]
    download = owner_api.get(_path(case, f"/{row_id}/file"))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment")


def test_a_refused_type_is_a_422_under_file(owner_api, case, media_root):
    response = _post_file(owner_api, case.number, "photo.jpg", EXE)
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "file": ["photo.jpg: only images, PDF and text files can be attached."]
    }
    assert not CaseAttachment.objects.exists() and not stored_files(media_root)


def test_too_large_is_a_422_and_never_read_whole(
    owner_api, case, media_root, settings, monkeypatch
):
    settings.CXLOOP_ATTACHMENT_MAX_MB = 1
    seen = []
    inspect = attachments.inspect_file
    monkeypatch.setattr(attachments, "inspect_file", lambda f: seen.append(f.size) or inspect(f))
    response = _post_file(owner_api, case.number, "big.jpg", JPEG + b"\x00" * (2 * 1024 * 1024))
    assert response.status_code == 422
    assert response.json()["errors"]["file"] == ["big.jpg: a file can be at most 1 MB."]
    assert seen == [1024 * 1024 + 1]  # CapUploadSize cut it one byte past the limit
    assert not stored_files(media_root)


def test_a_full_case_is_a_409(owner_api, case, media_root, settings):
    settings.CXLOOP_ATTACHMENT_MAX_PER_CASE = 1
    assert _post_file(owner_api, case.number, "1.jpg", JPEG).status_code == 201
    response = _post_file(owner_api, case.number, "2.jpg", JPEG)
    assert response.status_code == 409
    assert "at most 1 attachments" in response.json()["detail"]
    assert len(stored_files(media_root)) == 1


def test_no_file_or_a_json_body_is_a_422(owner_api, case, media_root):
    # ninja reports a missing file at ("file", "file"); the error names the form field.
    missing = {"file": ["This value is required."]}
    wrong_field = _post_file(owner_api, case.number, "a.jpg", JPEG, field="upload")
    assert wrong_field.status_code == 422 and wrong_field.json()["errors"] == missing
    as_json = owner_api.post(_path(case), {"file": "aGVsbG8="})
    assert as_json.status_code == 422 and as_json.json()["errors"] == missing
    assert not stored_files(media_root)


def test_permissions(
    owner_api, analyst_api, outsider_api, handler_api, anonymous_api, case, media_root
):
    row_id = _post_file(owner_api, case.number, "a.jpg", JPEG).json()["id"]
    assert _post_file(analyst_api, case.number, "b.jpg", JPEG).status_code == 403
    assert analyst_api.get(_path(case)).status_code == 200  # reads, does not attach
    assert outsider_api.get(_path(case)).status_code == 403
    assert _post_file(outsider_api, case.number, "b.jpg", JPEG).status_code == 403
    # Another department's case does not exist for the handler.
    assert handler_api.get(_path(case)).status_code == 404
    assert handler_api.get(_path(case, f"/{row_id}/file")).status_code == 404
    assert _post_file(handler_api, case.number, "b.jpg", JPEG).status_code == 404
    assert anonymous_api.get(_path(case)).status_code == 401
    assert _post_file(anonymous_api, case.number, "b.jpg", JPEG).status_code == 401
    assert CaseAttachment.objects.count() == 1 and len(stored_files(media_root)) == 1


def test_an_attachment_of_another_case_or_no_attachment_is_a_404(
    owner_api, case, make_case, media_root
):
    other = make_case()
    foreign = attachments.add_attachment(
        case=other, uploaded_file=upload("x.jpg", JPEG), actor=None, via="public"
    )
    events = owner_api.get(f"/cases/{other.number}/events").json()["items"]
    assert [e["actor"] for e in events if e["kind"] == "attachment_added"] == ["customer"]
    for suffix in (f"/{foreign.pk}/file", "/0/file", f"/{2**70}/file", "/abc/file"):
        response = owner_api.get(_path(case, suffix))
        assert response.status_code in (404, 422), suffix
        assert response.json()["detail"]
    assert owner_api.get(_path(case, f"/{foreign.pk}/file")).status_code == 404
    assert owner_api.get("/cases/C404/attachments").status_code == 404


def test_delete(owner_api, analyst_api, case, media_root, django_capture_on_commit_callbacks):
    row_id = _post_file(owner_api, case.number, "a.jpg", JPEG).json()["id"]
    assert analyst_api.send("DELETE", _path(case, f"/{row_id}")).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.send("DELETE", _path(case, f"/{row_id}"))
    assert response.status_code == 204
    assert not CaseAttachment.objects.exists() and not stored_files(media_root)
    assert case.events.filter(kind=CaseEvent.Kind.ATTACHMENT_REMOVED).count() == 1
    assert owner_api.send("DELETE", _path(case, f"/{row_id}")).status_code == 404


def test_the_name_is_masked_without_pii(owner_api, analyst_api, case, media_root):
    _post_file(owner_api, case.number, "13800001234.jpg", JPEG)
    assert owner_api.get(_path(case)).json()["items"][0]["name"] == "13800001234.jpg"
    assert analyst_api.get(_path(case)).json()["items"][0]["name"] == "138****1234.jpg"
