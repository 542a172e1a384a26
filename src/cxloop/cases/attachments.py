"""Attaching files to a case and removing them: the one place that decides what may be stored.

A file is accepted by what its first bytes are — JPEG, PNG, GIF, WebP, HEIC, PDF or plain
text — never by the content type or name the client sends: ``foto.jpg`` holding a program is
refused, and so is ``foto.exe`` holding a photo (the name would be used on download). Limits:
``CXLOOP_ATTACHMENT_MAX_MB`` per file (default 10) and ``CXLOOP_ATTACHMENT_MAX_PER_CASE``
files per case (default 10), counted under a row lock on the case so two uploads at once
cannot pass it. Every problem is a ``ValidationError`` whose message starts with the file's
name. Adding and removing are case events ("Attachment added: foto.jpg (230 KB)") and audit
rows; the console, the customer's form and the API all call these functions.
"""

from __future__ import annotations

import functools
import hashlib
import os
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler
from django.db import transaction
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from cxloop.cases import services
from cxloop.cases.attachment_models import DISK_EXTENSIONS, CaseAttachment
from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent
from cxloop.core.audit import record_audit
from cxloop.core.roles import require

Via = CaseAttachment.Via
HEAD_BYTES = 8192  # enough to tell a type and to judge whether text is text
MAX_NAME = 255
# Names a file of each type may carry; a name without an extension is fine too.
NAME_EXTENSIONS = {
    "image/jpeg": {"jpg", "jpeg", "jpe", "jfif"},
    "image/png": {"png"},
    "image/gif": {"gif"},
    "image/webp": {"webp"},
    "image/heic": {"heic", "heif"},
    "application/pdf": {"pdf"},
    "text/plain": {"txt", "text", "log"},
}
IMAGE_EXTENSIONS = set().union(*(v for k, v in NAME_EXTENSIONS.items() if k.startswith("image/")))
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
TEXT_CONTROLS_OK = {"\t", "\n", "\r", "\f"}
AUDITED = ("case", "original_name", "content_type", "size_bytes", "sha256", "uploaded_via")


def max_bytes() -> int:
    return settings.CXLOOP_ATTACHMENT_MAX_MB * 1024 * 1024


def max_per_case() -> int:
    return settings.CXLOOP_ATTACHMENT_MAX_PER_CASE


def human_size(size: int) -> str:
    """230 KB, 1.4 MB: the same in every language, so it can go into an event's text."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# --- what a file is ---------------------------------------------------------------------------


def sniff(head: bytes) -> str | None:
    """The content type the first bytes prove, among the ones cases accept; else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if _is_heic(head):
        return "image/heic"
    if _is_text(head):
        return "text/plain"
    return None


def _is_heic(head: bytes) -> bool:
    """An ISO media file (``ftyp`` box) whose major or a compatible brand is HEIC."""
    if head[4:8] != b"ftyp" or len(head) < 12:
        return False
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, box_end - 3, 4)]
    return any(brand in HEIC_BRANDS for brand in brands)


def _is_text(head: bytes) -> bool:
    """UTF-8 (or GB18030, what Chinese Windows saves) without NULs or control characters."""
    if not head or b"\x00" in head:
        return False
    head = head.removeprefix(b"\xef\xbb\xbf")
    text = _decode(head)
    if text is None:
        return False
    return not any((ord(ch) < 32 and ch not in TEXT_CONTROLS_OK) or ord(ch) == 127 for ch in text)


def _decode(head: bytes) -> str | None:
    for encoding in ("utf-8", "gb18030"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError as error:
            if len(head) == HEAD_BYTES and error.start >= len(head) - 4:
                # The head may cut a character in two: judge the part before the cut.
                try:
                    return head[: error.start].decode(encoding)
                except UnicodeDecodeError:
                    pass
    return None


def clean_name(name: str) -> str:
    """The file name to keep: no folders, no control or direction-override characters (which
    can make ``gpj.exe`` look like ``exe.jpg``), at most 255 characters with its extension."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split())  # tabs and line breaks become one space
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip(" .") or _("attachment")
    stem, extension = os.path.splitext(name)
    if len(name) > MAX_NAME:
        extension = extension[:20]
        name = stem[: MAX_NAME - len(extension)] + extension
    return name


def _extension(name: str) -> str:
    """The extension that says a type; "截图 2024.06.01" has none (digits are no type)."""
    extension = os.path.splitext(name)[1].lower().lstrip(".")
    if not extension.isalnum() or extension.isdigit() or len(extension) > 10:
        return ""
    return extension


def download_name(attachment: CaseAttachment) -> str:
    """The name a download gets: the original, with an extension that fits what it holds."""
    name = attachment.original_name
    if _extension(name) in NAME_EXTENSIONS.get(attachment.content_type, ()):
        return name
    return os.path.splitext(name)[0] + DISK_EXTENSIONS.get(attachment.content_type, ".bin")


@dataclass(frozen=True)
class Inspected:
    name: str
    content_type: str
    size: int
    sha256: str


def inspect_file(uploaded_file) -> Inspected:
    """Size, sniffed type and SHA-256 of an upload; ``ValidationError`` naming the file."""
    name = clean_name(getattr(uploaded_file, "name", ""))
    size = uploaded_file.size or 0
    if size == 0:
        raise ValidationError(_("%(name)s: the file is empty.") % {"name": name}, code="empty")
    if size > max_bytes():
        message = _("%(name)s: a file can be at most %(max)s MB.")
        raise ValidationError(
            message % {"name": name, "max": settings.CXLOOP_ATTACHMENT_MAX_MB}, code="too_large"
        )
    uploaded_file.seek(0)
    content_type = sniff(uploaded_file.read(HEAD_BYTES))
    extension = _extension(name)
    if content_type is None or (extension and extension not in _allowed_names(content_type)):
        message = _("%(name)s: only images, PDF and text files can be attached.")
        raise ValidationError(message % {"name": name}, code="bad_type")
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():  # chunks() starts from the beginning
        digest.update(chunk)
    uploaded_file.seek(0)
    return Inspected(name=name, content_type=content_type, size=size, sha256=digest.hexdigest())


def _allowed_names(content_type: str) -> set[str]:
    # A phone's photo saved as .jpg may well be a PNG or HEIC: any image name fits an image.
    if content_type.startswith("image/"):
        return IMAGE_EXTENSIONS
    return NAME_EXTENSIONS[content_type]


def check_files(files, *, case: Case | None = None, at_once: int | None = None) -> list[str]:
    """Every problem of a batch of uploads, one message each (empty list: all fine).
    ``at_once`` caps the batch (the customer's form takes 3); ``case`` adds its files so far."""
    errors = []
    limit = at_once if at_once is not None else max_per_case()
    already = case.attachments.count() if case is not None else 0
    if len(files) > limit:
        errors.append(_("Attach at most %(max)s files at once.") % {"max": limit})
    elif already + len(files) > max_per_case():
        errors.append(_room_message(already))
    for uploaded_file in files:
        try:
            inspect_file(uploaded_file)
        except ValidationError as error:
            errors.extend(error.messages)
    return errors


def _room_message(already: int) -> str:
    return _(
        "A case can have at most %(max)s attachments; this one has %(count)s. Remove one first."
    ) % {"max": max_per_case(), "count": already}


# --- adding and removing ------------------------------------------------------------------------


def _check_actor(actor, case: Case, via: str) -> None:
    if via not in Via.values:
        raise ValueError(f"unknown upload channel {via!r}")
    if via == Via.PUBLIC and actor is None:
        return  # the customer, through a form or link the view has checked
    require(actor, "cases.view_case")
    # Whoever opens a case may attach its files; afterwards it takes working the case.
    if not actor.has_perm("cases.work_case") and case.created_by_id != actor.pk:
        raise PermissionDenied


def add_attachment(*, case: Case, uploaded_file, actor, via: str) -> CaseAttachment:
    """Store one file on ``case``: checked, written under a random name, an event."""
    _check_actor(actor, case, via)
    if case.status == Case.Status.MERGED:
        number = case.merged_into.number if case.merged_into_id else ""
        message = _("This case was merged into %(number)s; attach the file there.")
        raise ValidationError(message % {"number": number}, code="merged")
    found = inspect_file(uploaded_file)
    attachment = CaseAttachment(
        case=case, original_name=found.name, content_type=found.content_type,
        size_bytes=found.size, sha256=found.sha256, uploaded_via=via,
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
    )  # fmt: skip
    # Written before the lock is taken, so a slow disk does not hold up the case.
    attachment.file.save(found.name, uploaded_file, save=False)
    try:
        with transaction.atomic():
            _save_within_limit(attachment, actor)
    except BaseException:
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def _save_within_limit(attachment: CaseAttachment, actor) -> None:
    case = Case.objects.select_for_update().get(pk=attachment.case_id)
    already = case.attachments.count()
    if already >= max_per_case():
        raise ValidationError(_room_message(already), code="too_many")
    attachment.save()
    _event(attachment, CaseEvent.Kind.ATTACHMENT_ADDED, actor)
    record_audit(
        actor=actor, action="case.attachment.add", target=attachment,
        after={name: getattr(attachment, name) for name in AUDITED},
    )  # fmt: skip


def _event(attachment: CaseAttachment, kind: str, actor) -> None:
    record_event(
        case=attachment.case, kind=kind, actor=actor,
        body=f"{attachment.original_name} ({human_size(attachment.size_bytes)})",
        public=attachment.shown_to_customer,
        data={
            "attachment": attachment.pk, "name": attachment.original_name,
            "content_type": attachment.content_type, "size_bytes": attachment.size_bytes,
            "sha256": attachment.sha256, "via": attachment.uploaded_via,
        },
    )  # fmt: skip


def add_attachments(*, case: Case, files, actor, via: str) -> list[CaseAttachment]:
    """Several files, all or none: on a failure the ones already stored are deleted again."""
    added: list[CaseAttachment] = []
    try:
        with transaction.atomic():
            for uploaded_file in files:
                added.append(
                    add_attachment(case=case, uploaded_file=uploaded_file, actor=actor, via=via)
                )
    except BaseException:
        for attachment in added:  # their rows were rolled back, so no post_delete comes
            attachment.file.storage.delete(attachment.file.name)
        raise
    return added


def open_case_with_files(*, files, actor, via: str, **fields) -> Case:
    """``services.create_case`` and its attachments in one transaction: a refused file
    leaves no case behind, so the form can be sent again as it is."""
    with transaction.atomic():
        case = services.create_case(actor=actor, **fields)
        add_attachments(case=case, files=files, actor=actor, via=via)
    return case


def may_attach(user, case: Case) -> bool:
    """Whether the case page offers ``user`` the upload form."""
    return user.has_perm("cases.work_case") and case.status != Case.Status.MERGED


def remove_attachment(*, attachment: CaseAttachment, actor) -> None:
    """Delete the row and, once that commits, the file; the timeline keeps what it was."""
    require(actor, "cases.work_case")
    with transaction.atomic():
        _event(attachment, CaseEvent.Kind.ATTACHMENT_REMOVED, actor)
        record_audit(
            actor=actor, action="case.attachment.remove", target=attachment,
            before={name: getattr(attachment, name) for name in AUDITED},
        )  # fmt: skip
        attachment.delete()


# --- reading the body ---------------------------------------------------------------------------


class CapUploadSize(FileUploadHandler):
    """First in the upload handlers of a view that takes attachments: passes on at most one
    byte more than the limit of each file and drops the rest, so a huge upload is refused as
    too large (with the rest of the form intact) without being written to disk whole."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.passed = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        room = max_bytes() + 1 - self.passed
        if room <= 0:
            return None
        self.passed += min(room, len(raw_data))
        return raw_data[:room]

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file


def capped_uploads(view):
    """For a view that takes attachments: ``CapUploadSize`` goes first, before anything reads
    the body. The CSRF middleware would read it first, so the view is exempt from the
    middleware and runs the same CSRF check itself, after the handler is in place."""
    protected = csrf_protect(view)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request.upload_handlers.insert(0, CapUploadSize(request))
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)
