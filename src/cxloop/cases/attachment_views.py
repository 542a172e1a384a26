"""Attachments in the console and on the customer's progress page: upload, download, remove.

Nothing under MEDIA_ROOT is served directly. A download first finds the case the way every
case page does (``access.case_for``: another department's case is a 404) or, for the customer,
through the signed progress token, and only the files the customer sent; then the file is
streamed with ``FileResponse`` under its own content type, ``nosniff`` and a sandboxing CSP.
Images every browser shows open inline (and are the thumbnails); anything else downloads.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from cxloop.cases import attachments, tokens
from cxloop.cases.access import case_for
from cxloop.cases.attachment_models import CaseAttachment
from cxloop.cases.forms import AttachmentForm
from cxloop.cases.public_views import public_page
from cxloop.cases.views import render_case_page

# What a stored file may do when opened: nothing but show itself.
SANDBOX = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def file_response(attachment: CaseAttachment, *, cache: str) -> FileResponse:
    """The file itself; a row whose file has gone missing is a 404, not a 500."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("file missing") from None
    response = FileResponse(
        handle,
        as_attachment=not attachment.is_inline_image,
        filename=attachments.download_name(attachment),
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    response["Cache-Control"] = cache
    return response


def _back_to(case) -> str:
    return reverse("cases:detail", args=[case.pk]) + "#attachments"


@login_required
@require_POST
@attachments.capped_uploads
def upload(request, pk: int):
    case = case_for(request.user, pk, perm="cases.work_case")
    form = AttachmentForm(request.POST, request.FILES, case=case)
    if form.is_valid():
        files = form.cleaned_data["files"]
        try:
            attachments.add_attachments(
                case=case, files=files, actor=request.user, via=CaseAttachment.Via.CONSOLE
            )
        except ValidationError as error:
            form.add_error("files", error)
        else:
            done = ngettext("%(count)d file attached.", "%(count)d files attached.", len(files))
            messages.success(request, done % {"count": len(files)})
            return redirect(_back_to(case))
    return render_case_page(request, case, {"attach": form})


@login_required
@require_GET
def download(request, pk: int, attachment_id: int):
    case = case_for(request.user, pk)
    attachment = get_object_or_404(case.attachments, pk=attachment_id)
    return file_response(attachment, cache="private, max-age=300")


@login_required
@require_POST
def remove(request, pk: int, attachment_id: int):
    case = case_for(request.user, pk, perm="cases.work_case")
    attachment = get_object_or_404(case.attachments, pk=attachment_id)
    attachments.remove_attachment(attachment=attachment, actor=request.user)
    messages.success(request, _("%(name)s removed.") % {"name": attachment.original_name})
    return redirect(_back_to(case))


@require_GET
@public_page
def public_download(request, token: str, attachment_id: int, *, language: str):
    """A file the customer sent, through their progress link (never a merged survivor's:
    that may be another customer's case)."""
    case = tokens.read_progress_token(token)
    attachment = case.attachments.filter(
        pk=attachment_id, uploaded_via=CaseAttachment.Via.PUBLIC
    ).first()
    if attachment is None:
        raise tokens.InvalidToken
    return file_response(attachment, cache="private, no-store")
