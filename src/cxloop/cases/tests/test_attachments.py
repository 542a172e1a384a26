"""The attachment service: what is accepted (by the file's bytes), the limits, where and how a
file is stored, the case events and audit rows, removal."""

# ruff: noqa: F811 - fixtures are imported and pytest passes them by name

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cxloop.cases import attachments, services
from cxloop.cases.attachment_models import CaseAttachment
from cxloop.cases.attachments import CapUploadSize, clean_name, human_size, sniff
from cxloop.cases.models import Case, CaseEvent
from cxloop.cases.tests.attachment_helpers import (  # noqa: F401 - the fixture
    EXE,
    GIF,
    HEIC,
    JPEG,
    PDF,
    PNG,
    TEXT,
    WEBP,
    ZIP,
    media_root,
    stored_files,
    upload,
)
from cxloop.core.models import AuditLog

pytestmark = pytest.mark.django_db
Via = CaseAttachment.Via
ADDED, REMOVED = CaseEvent.Kind.ATTACHMENT_ADDED, CaseEvent.Kind.ATTACHMENT_REMOVED


@pytest.fixture
def case(make_case, owner):
    return make_case(actor=owner)


def _add(case, name, content, actor, via=Via.CONSOLE, content_type="image/jpeg"):
    return attachments.add_attachment(
        case=case, uploaded_file=upload(name, content, content_type), actor=actor, via=via
    )


def _refusal(case, name, content, actor) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        _add(case, name, content, actor)
    return refused.value


# --- stored, hashed, on the timeline ----------------------------------------------------------


def test_a_photo_is_stored_under_a_random_name_with_its_hash_and_an_event(
    case, teammate, media_root
):
    content = JPEG + b"\x00" * (230 * 1024 - len(JPEG))
    row = _add(case, "foto.jpg", content, teammate)

    assert row.original_name == "foto.jpg" and row.content_type == "image/jpeg"
    assert row.size_bytes == 230 * 1024 and row.uploaded_via == Via.CONSOLE
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    assert row.uploaded_by == teammate
    path = media_root / row.file.name
    assert path.read_bytes() == content
    assert row.file.name.startswith(f"case-attachments/{case.pk // 1000}/{case.pk}/")
    assert "foto" not in row.file.name and row.file.name.endswith(".jpg")
    event = case.events.get(kind=ADDED)
    assert event.body == "foto.jpg (230 KB)"
    assert event.actor == teammate and event.public is False
    assert event.data["attachment"] == row.pk and event.data["sha256"] == row.sha256
    audit = AuditLog.objects.get(action="case.attachment.add")
    assert audit.object_id == str(row.pk) and audit.after["size_bytes"] == 230 * 1024


def test_two_uploads_of_one_name_get_two_files(case, teammate, media_root):
    first = _add(case, "foto.jpg", JPEG, teammate)
    second = _add(case, "foto.jpg", JPEG + b"x", teammate)
    assert first.file.name != second.file.name
    assert len(stored_files(media_root)) == 2


def test_the_customers_file_is_a_public_event_without_an_actor(case, media_root):
    row = _add(case, "小票.pdf", PDF, None, via=Via.PUBLIC)
    event = case.events.get(kind=ADDED)
    assert event.public is True and event.actor is None
    assert row.uploaded_by is None and row.shown_to_customer


# --- the type comes from the bytes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected", "on_disk"),
    [
        ("a.jpg", JPEG, "image/jpeg", ".jpg"),
        ("a.png", PNG, "image/png", ".png"),
        ("a.gif", GIF, "image/gif", ".gif"),
        ("a.webp", WEBP, "image/webp", ".webp"),
        ("IMG_0001.HEIC", HEIC, "image/heic", ".heic"),
        ("发票.pdf", PDF, "application/pdf", ".pdf"),
        ("notes.txt", TEXT, "text/plain", ".txt"),
        ("gbk.txt", "中文记事本的文字\r\n".encode("gb18030"), "text/plain", ".txt"),
        ("no extension", PNG, "image/png", ".png"),
        ("截图 2026.06.01", PNG, "image/png", ".png"),  # digits after a dot are no extension
    ],
)
def test_each_accepted_type(case, teammate, media_root, name, content, expected, on_disk):
    row = _add(case, name, content, teammate, content_type="application/octet-stream")
    assert row.content_type == expected
    assert row.file.name.endswith(on_disk)


def test_the_clients_content_type_is_ignored(case, teammate, media_root):
    refused = _refusal(case, "photo.jpg", EXE, teammate)  # claimed image/jpeg by _add
    assert refused.messages == ["photo.jpg: only images, PDF and text files can be attached."]
    assert refused.code == "bad_type"
    assert not CaseAttachment.objects.exists() and not stored_files(media_root)


def test_a_program_name_is_refused_even_with_image_bytes(case, teammate, media_root):
    refused = _refusal(case, "foto.exe", JPEG, teammate)
    assert refused.messages == ["foto.exe: only images, PDF and text files can be attached."]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.exe", EXE),
        ("archive.zip", ZIP),
        ("page.html", b"<html><script>alert(1)</script></html>"),  # text, but not a .txt
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
        ("utf16.txt", "hello".encode("utf-16")),  # NUL bytes
        ("control.txt", b"abc\x1b[31mred\x07"),
        ("invoice.pdf", b"%PDX-1.7 not a pdf\x00"),
    ],
)
def test_refused_types(case, teammate, media_root, name, content):
    refused = _refusal(case, name, content, teammate)
    assert refused.messages == [f"{name}: only images, PDF and text files can be attached."]


def test_an_image_with_another_image_name_is_kept_and_downloads_with_the_right_one(
    case, teammate, media_root
):
    row = _add(case, "photo.jpg", PNG, teammate)  # phones often save PNGs as .jpg
    assert row.content_type == "image/png" and row.file.name.endswith(".png")
    assert attachments.download_name(row) == "photo.png"
    assert attachments.download_name(_add(case, "ok.png", PNG, teammate)) == "ok.png"


# --- limits ---------------------------------------------------------------------------------------


def test_size_limit(case, teammate, media_root, settings):
    settings.CXLOOP_ATTACHMENT_MAX_MB = 1
    exactly = JPEG + b"\x00" * (1024 * 1024 - len(JPEG))
    assert _add(case, "max.jpg", exactly, teammate).size_bytes == 1024 * 1024
    refused = _refusal(case, "big.jpg", exactly + b"\x00", teammate)
    assert refused.messages == ["big.jpg: a file can be at most 1 MB."]
    assert refused.code == "too_large"
    assert CaseAttachment.objects.count() == 1 and len(stored_files(media_root)) == 1


def test_an_empty_file_is_refused(case, teammate, media_root):
    assert _refusal(case, "empty.txt", b"", teammate).messages == ["empty.txt: the file is empty."]


def test_count_limit_per_case(case, make_case, teammate, media_root, settings):
    settings.CXLOOP_ATTACHMENT_MAX_PER_CASE = 2
    _add(case, "1.jpg", JPEG, teammate)
    _add(case, "2.jpg", JPEG, teammate)
    refused = _refusal(case, "3.jpg", JPEG, teammate)
    assert refused.code == "too_many"
    assert refused.messages == [
        "A case can have at most 2 attachments; this one has 2. Remove one first."
    ]
    assert case.attachments.count() == 2
    assert len(stored_files(media_root)) == 2  # the refused file was deleted again
    assert case.events.filter(kind=ADDED).count() == 2
    assert _add(make_case(), "other.jpg", JPEG, teammate)  # the limit is per case


def test_check_files_reports_every_problem(case, teammate, media_root, settings):
    settings.CXLOOP_ATTACHMENT_MAX_PER_CASE = 3
    _add(case, "1.jpg", JPEG, teammate)
    files = [upload("a.exe", EXE), upload("b.jpg", JPEG), upload("c.txt", b"")]
    assert attachments.check_files(files, case=case) == [
        "A case can have at most 3 attachments; this one has 1. Remove one first.",
        "a.exe: only images, PDF and text files can be attached.",
        "c.txt: the file is empty.",
    ]
    assert attachments.check_files(files[1:2], case=case) == []
    assert attachments.check_files(files, at_once=2)[0] == "Attach at most 2 files at once."


def test_a_batch_is_all_or_nothing(case, teammate, media_root, settings):
    settings.CXLOOP_ATTACHMENT_MAX_PER_CASE = 2
    _add(case, "1.jpg", JPEG, teammate)
    with pytest.raises(ValidationError):
        attachments.add_attachments(
            case=case, files=[upload("2.jpg", JPEG), upload("3.jpg", JPEG)], actor=teammate,
            via=Via.CONSOLE,
        )  # fmt: skip
    assert list(case.attachments.values_list("original_name", flat=True)) == ["1.jpg"]
    assert len(stored_files(media_root)) == 1
    assert case.events.filter(kind=ADDED).count() == 1


def test_a_refused_file_leaves_no_new_case(categories, teammate, media_root):
    with pytest.raises(ValidationError):
        attachments.open_case_with_files(
            files=[upload("ok.jpg", JPEG), upload("bad.exe", EXE)], actor=teammate,
            via=Via.CONSOLE, channel="hotline", subject="破损", contact_name="王女士",
        )  # fmt: skip
    assert not Case.objects.exists() and not stored_files(media_root)


def test_a_merged_case_takes_no_files(case, make_case, teammate, media_root):
    survivor = make_case()
    services.merge_cases(duplicate=case, survivor=survivor, actor=teammate)
    case.refresh_from_db()
    refused = _refusal(case, "a.jpg", JPEG, teammate)
    assert refused.code == "merged" and survivor.number in refused.messages[0]


# --- who ------------------------------------------------------------------------------------------


def test_who_may_attach(case, outsider, analyst, media_root):
    with pytest.raises(PermissionDenied):
        _add(case, "a.jpg", JPEG, outsider)
    with pytest.raises(PermissionDenied):
        _add(case, "a.jpg", JPEG, analyst)  # reads cases, does not work them
    with pytest.raises(PermissionDenied):
        _add(case, "a.jpg", JPEG, None, via=Via.CONSOLE)  # only the customer is nobody
    assert not stored_files(media_root)


# --- removing -------------------------------------------------------------------------------------


def test_removing_deletes_the_row_and_then_the_file(
    case, teammate, media_root, django_capture_on_commit_callbacks
):
    row = _add(case, "foto.jpg", JPEG, teammate)
    path = media_root / row.file.name
    with django_capture_on_commit_callbacks(execute=True):
        attachments.remove_attachment(attachment=row, actor=teammate)
    assert not CaseAttachment.objects.exists() and not path.exists()
    event = case.events.get(kind=REMOVED)
    assert event.body == f"foto.jpg ({human_size(len(JPEG))})" and event.actor == teammate
    assert AuditLog.objects.get(action="case.attachment.remove").before["original_name"] == (
        "foto.jpg"
    )


def test_removing_needs_work_case(case, teammate, analyst, media_root):
    row = _add(case, "foto.jpg", JPEG, teammate)
    with pytest.raises(PermissionDenied):
        attachments.remove_attachment(attachment=row, actor=analyst)
    assert CaseAttachment.objects.filter(pk=row.pk).exists()
    assert not case.events.filter(kind=REMOVED).exists()


def test_the_file_stays_until_the_removal_commits(case, teammate, media_root):
    row = _add(case, "foto.jpg", JPEG, teammate)
    path = media_root / row.file.name
    attachments.remove_attachment(attachment=row, actor=teammate)  # never committed here
    assert path.exists()


# --- names, sizes, the sniffer, the upload cap ------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("C:\\Users\\王\\Desktop\\发票.pdf", "发票.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("gpj\u202e.exe", "gpj.exe"),  # a right-to-left override would show "exe.jpg"
        ("  a\tb\n.jpg  ", "a b .jpg"),
        ("", "attachment"),
        ("x" * 300 + ".jpeg", "x" * 250 + ".jpeg"),
    ],
)
def test_clean_name(given, kept):
    assert clean_name(given) == kept


@given(st.text(max_size=400))
def test_clean_name_is_always_a_safe_plain_name(name):
    kept = clean_name(name)
    assert kept and len(kept) <= 255
    assert "/" not in kept and "\\" not in kept
    assert all(ord(ch) >= 32 and ch not in "\u202e\u200f\u2066" for ch in kept)


@given(st.binary(max_size=600))
@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow])
def test_sniff_knows_only_the_accepted_types(head):
    found = sniff(head)
    assert found in {None, *attachments.NAME_EXTENSIONS}
    if b"\x00" in head and found == "text/plain":
        pytest.fail("text with a NUL byte")


def test_human_size():
    assert [human_size(n) for n in (0, 1023, 1024, 230 * 1024, 1536 * 1024)] == [
        "0 B", "1023 B", "1 KB", "230 KB", "1.5 MB",
    ]  # fmt: skip


def test_the_upload_cap_passes_one_byte_more_than_the_limit(settings):
    settings.CXLOOP_ATTACHMENT_MAX_MB = 1
    handler = CapUploadSize()
    handler.new_file("files", "big.jpg", "image/jpeg", 3 * 1024 * 1024)
    chunk = b"\x00" * 65536
    passed = [handler.receive_data_chunk(chunk, i * len(chunk)) for i in range(48)]
    assert sum(len(p) for p in passed if p is not None) == 1024 * 1024 + 1
    assert passed[-1] is None  # the rest is dropped, not stored
    handler.new_file("files", "next.jpg", "image/jpeg", 10)
    assert handler.receive_data_chunk(b"abc", 0) == b"abc"  # each file has its own count
