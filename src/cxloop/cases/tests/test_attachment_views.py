"""Attachments through the browser: the case page's upload, download and remove, the staff
new-case form, the customer's feedback form and progress page; who may download what."""

# ruff: noqa: F811 - fixtures are imported and pytest passes them by name

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cxloop.cases import attachments, tokens
from cxloop.cases.attachment_models import CaseAttachment
from cxloop.cases.models import Case, CaseEvent
from cxloop.cases.tests.attachment_helpers import (  # noqa: F401 - the fixture
    EXE,
    JPEG,
    PDF,
    PNG,
    TEXT,
    media_root,
    stored_files,
    upload,
)

pytestmark = pytest.mark.django_db
Via = CaseAttachment.Via
NEW = "/c/new/"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # the public form's rate limits live in the cache
    yield
    cache.clear()


@pytest.fixture
def service_case(make_case, categories):
    return make_case(category=categories["product"])  # routed to customer service


@pytest.fixture
def logistics_case(make_case, categories):
    return make_case(category=categories["logistics"])


def _attach(case, name, content, via=Via.PUBLIC, actor=None):
    return attachments.add_attachment(
        case=case, uploaded_file=upload(name, content), actor=actor, via=via
    )


def _upload_url(case) -> str:
    return reverse("cases_attachment:upload", args=[case.pk])


def _file_url(row) -> str:
    return reverse("cases_attachment:download", args=[row.case_id, row.pk])


def _public_url(case, row) -> str:
    return reverse("case_public:attachment", args=[tokens.make_progress_token(case), row.pk])


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- the case page ----------------------------------------------------------------------------


def test_upload_several_files_on_the_case_page(teammate_client, teammate, service_case, media_root):
    files = [upload("破损.jpg", JPEG), upload("发票.pdf", PDF)]
    response = teammate_client.post(_upload_url(service_case), {"attach-files": files})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{service_case.pk}/#attachments")
    rows = list(service_case.attachments.all())
    assert [(r.original_name, r.content_type) for r in rows] == [
        ("破损.jpg", "image/jpeg"), ("发票.pdf", "application/pdf"),
    ]  # fmt: skip
    assert {r.uploaded_by for r in rows} == {teammate} and {r.uploaded_via for r in rows} == {
        "console"
    }
    page = teammate_client.get(reverse("cases:detail", args=[service_case.pk])).content.decode()
    assert "2 files attached." in page
    assert f'<img src="{_file_url(rows[0])}"' in page  # a thumbnail for the photo
    assert f'<img src="{_file_url(rows[1])}"' not in page  # none for the PDF
    assert "发票.pdf" in page and "teammate" in page
    assert f'action="{reverse("cases_attachment:remove", args=[service_case.pk, rows[0].pk])}"' in (
        page
    )
    assert page.count("Attachment added") == 2  # the timeline


def test_a_bad_file_shows_its_message_and_stores_nothing(teammate_client, service_case, media_root):
    files = [upload("ok.jpg", JPEG), upload("virus.exe", EXE)]
    response = teammate_client.post(_upload_url(service_case), {"attach-files": files})
    assert response.status_code == 200
    assert (
        "virus.exe: only images, PDF and text files can be attached." in response.content.decode()
    )
    assert not service_case.attachments.exists() and not stored_files(media_root)


def test_an_oversized_file_is_cut_at_the_limit_and_refused(
    teammate_client, service_case, media_root, settings, monkeypatch
):
    settings.CXLOOP_ATTACHMENT_MAX_MB = 1
    seen = []
    inspect = attachments.inspect_file
    monkeypatch.setattr(attachments, "inspect_file", lambda f: seen.append(f.size) or inspect(f))
    big = upload("big.jpg", JPEG + b"\x00" * (3 * 1024 * 1024))
    response = teammate_client.post(_upload_url(service_case), {"attach-files": [big]})
    assert "big.jpg: a file can be at most 1 MB." in response.content.decode()
    assert seen == [1024 * 1024 + 1]  # never received whole
    assert not stored_files(media_root)


def test_the_upload_form_is_only_for_those_who_work_cases(
    analyst_client, teammate_client, service_case, media_root
):
    detail = reverse("cases:detail", args=[service_case.pk])
    assert _upload_url(service_case) in teammate_client.get(detail).content.decode()
    assert _upload_url(service_case) not in analyst_client.get(detail).content.decode()
    response = analyst_client.post(
        _upload_url(service_case), {"attach-files": [upload("a.jpg", JPEG)]}
    )
    assert response.status_code == 403
    assert not service_case.attachments.exists()


def test_uploads_still_need_the_csrf_token(teammate, service_case, media_root):
    client = Client(enforce_csrf_checks=True)
    client.force_login(teammate)
    response = client.post(_upload_url(service_case), {"attach-files": [upload("a.jpg", JPEG)]})
    assert response.status_code == 403
    assert not service_case.attachments.exists() and not stored_files(media_root)


def test_download_headers(teammate_client, service_case, media_root):
    photo = _attach(service_case, "破损.jpg", JPEG)
    pdf = _attach(service_case, "发票.pdf", PDF)
    text = _attach(service_case, "page.txt", b"<html><script>alert(1)</script>")

    shown = teammate_client.get(_file_url(photo))
    assert shown.status_code == 200 and _body(shown) == JPEG
    assert shown["Content-Type"] == "image/jpeg"
    assert shown["Content-Disposition"].startswith("inline")
    assert "filename*=utf-8''%E7%A0%B4%E6%8D%9F.jpg" in shown["Content-Disposition"]
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in shown["Content-Security-Policy"]

    saved = teammate_client.get(_file_url(pdf))
    assert saved["Content-Type"] == "application/pdf"
    assert saved["Content-Disposition"].startswith("attachment")
    as_text = teammate_client.get(_file_url(text))  # HTML typed into a .txt stays text
    assert as_text["Content-Type"] == "text/plain"
    assert as_text["Content-Disposition"].startswith("attachment")


def test_who_may_download(
    handler_client, outsider_client, analyst_client, client, service_case, logistics_case,
    media_root,
):  # fmt: skip
    foreign = _attach(service_case, "a.jpg", JPEG)
    own = _attach(logistics_case, "b.jpg", JPEG)
    assert handler_client.get(_file_url(foreign)).status_code == 404  # another department's
    assert handler_client.get(_file_url(own)).status_code == 200
    assert outsider_client.get(_file_url(foreign)).status_code == 403
    assert analyst_client.get(_file_url(foreign)).status_code == 200  # reads every case
    anonymous = client.get(_file_url(foreign))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    # The file id does not open another case's file under this case's URL.
    wrong = reverse("cases_attachment:download", args=[logistics_case.pk, foreign.pk])
    assert handler_client.get(wrong).status_code == 404


def test_a_handler_cannot_upload_to_another_departments_case(
    handler_client, service_case, media_root
):
    response = handler_client.post(
        _upload_url(service_case), {"attach-files": [upload("a.jpg", JPEG)]}
    )
    assert response.status_code == 404
    assert not stored_files(media_root)


def test_a_missing_file_is_a_404(teammate_client, service_case, media_root):
    row = _attach(service_case, "a.jpg", JPEG)
    (media_root / row.file.name).unlink()
    assert teammate_client.get(_file_url(row)).status_code == 404


def test_remove(teammate_client, analyst_client, service_case, media_root,
                django_capture_on_commit_callbacks):  # fmt: skip
    row = _attach(service_case, "a.jpg", JPEG)
    remove = reverse("cases_attachment:remove", args=[service_case.pk, row.pk])
    assert analyst_client.post(remove).status_code == 403
    assert teammate_client.get(remove).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = teammate_client.post(remove)
    assert response.status_code == 302
    assert not CaseAttachment.objects.exists() and not stored_files(media_root)
    assert service_case.events.filter(kind=CaseEvent.Kind.ATTACHMENT_REMOVED).count() == 1


# --- the staff new-case form ------------------------------------------------------------------


def _new_case(**overrides) -> dict:
    data = {"channel": "hotline", "severity": "general", "subject": "冰箱门破损",
            "description": "送货时摔坏", "contact_name": "王女士", "contact_phone": ""}  # fmt: skip
    return {**data, **overrides}


def test_new_case_with_attachments(teammate_client, teammate, media_root):
    files = [upload("门.jpg", JPEG), upload("单据.png", PNG)]
    response = teammate_client.post(reverse("cases:new"), _new_case(attachments=files))
    assert response.status_code == 302
    case = Case.objects.get()
    assert sorted(case.attachments.values_list("original_name", flat=True)) == [
        "单据.png",
        "门.jpg",
    ]
    assert set(case.attachments.values_list("uploaded_by", flat=True)) == {teammate.pk}


def test_new_case_with_a_bad_file_opens_nothing_and_keeps_the_text(teammate_client, media_root):
    files = [upload("门.jpg", JPEG), upload("tool.exe", EXE)]
    response = teammate_client.post(reverse("cases:new"), _new_case(attachments=files))
    assert response.status_code == 200
    html = response.content.decode()
    assert "tool.exe: only images, PDF and text files can be attached." in html
    assert 'value="冰箱门破损"' in html and 'enctype="multipart/form-data"' in html
    assert not Case.objects.exists() and not stored_files(media_root)


# --- the customer's form and progress page ----------------------------------------------------


def _feedback(categories, **overrides) -> dict:
    data = {"kind": "complaint", "name": "刘女士", "phone": "139 0000 1234", "email": "",
            "order_ref": "SO-1", "category": categories["logistics"].pk,
            "description": "收到的杯子碎了，照片在附件。",
            "consent": "on", "website": ""}  # fmt: skip
    return {**data, **overrides}


def test_feedback_with_photos(client, categories, media_root):
    files = [upload("杯子.jpg", JPEG), upload("小票.pdf", PDF)]
    response = client.post(NEW, _feedback(categories, files=files))
    assert response.status_code == 302
    case = Case.objects.get()
    rows = list(case.attachments.all())
    assert [r.uploaded_via for r in rows] == ["public", "public"]
    assert all(r.uploaded_by is None for r in rows)
    assert case.events.filter(kind=CaseEvent.Kind.ATTACHMENT_ADDED, public=True).count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "Files you sent" in page and "杯子.jpg" in page
    assert _public_url(case, rows[0]) in page
    download = client.get(_public_url(case, rows[1]))
    assert download.status_code == 200 and _body(download) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Cache-Control"] == "private, no-store"


def test_the_form_shows_the_file_field_and_its_limits(client, categories):
    html = client.get(NEW).content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file" name="files"' in html and "multiple" in html
    assert "Up to 3 photos, PDF or text files, 10 MB each." in html


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("a.jpg", JPEG)] * 4, "Attach at most 3 files at once."),
        (
            [("a.jpg", JPEG), ("b.exe", EXE)],
            "b.exe: only images, PDF and text files can be attached.",
        ),
    ],
)
def test_bad_files_on_the_feedback_form_keep_the_text(
    client, categories, media_root, files, message
):
    data = _feedback(categories, files=[upload(name, content) for name, content in files])
    response = client.post(NEW, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "收到的杯子碎了，照片在附件。" in html and 'value="SO-1"' in html
    assert "files have to be chosen again" in html
    assert not Case.objects.exists() and not stored_files(media_root)


def test_feedback_without_files_still_works(client, categories, media_root):
    assert client.post(NEW, _feedback(categories)).status_code == 302
    assert Case.objects.get().attachments.count() == 0


def test_the_feedback_form_checks_csrf(categories, media_root):
    client = Client(enforce_csrf_checks=True)
    response = client.post(NEW, _feedback(categories, files=[upload("a.jpg", JPEG)]))
    assert response.status_code == 403
    assert not Case.objects.exists() and not stored_files(media_root)


def test_a_token_opens_only_its_own_cases_customer_files(
    client, service_case, logistics_case, teammate, media_root
):
    mine = _attach(service_case, "mine.jpg", JPEG)
    theirs = _attach(logistics_case, "theirs.jpg", JPEG)
    internal = _attach(service_case, "internal.txt", TEXT, via=Via.CONSOLE, actor=teammate)
    token = tokens.make_progress_token(service_case)
    url = lambda row: reverse("case_public:attachment", args=[token, row.pk])  # noqa: E731
    assert client.get(url(mine)).status_code == 200
    assert client.get(url(theirs)).status_code == 404  # another case's file
    assert client.get(url(internal)).status_code == 404  # staff's files stay internal
    page = client.get(reverse("case_public:progress", args=[token])).content.decode()
    assert "mine.jpg" in page and "internal.txt" not in page and "theirs.jpg" not in page


def test_a_bad_or_revoked_token_is_a_404(client, service_case, media_root):
    row = _attach(service_case, "mine.jpg", JPEG)
    bad = reverse("case_public:attachment", args=["not-a-token", row.pk])
    response = client.get(bad)
    assert response.status_code == 404 and b"not valid" in response.content
    token = tokens.make_progress_token(service_case)
    Case.objects.filter(pk=service_case.pk).update(public_nonce="revoked")
    assert client.get(reverse("case_public:attachment", args=[token, row.pk])).status_code == 404
