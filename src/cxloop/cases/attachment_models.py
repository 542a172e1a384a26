"""Files attached to a case: photos of a damaged product, a receipt, a screenshot, a PDF.

The file lives in Django's default storage under a random name in a folder of its case
(``case-attachments/<case id // 1000>/<case id>/<random>.<ext>``): the customer's file name is
kept only as data, never used on disk. The extension on disk follows the type sniffed from the
file's first bytes (``cases.attachments``), not the name. Files are never served from
``MEDIA_URL``; the download views check who may see the case. Deleting a row deletes its file
once the transaction commits.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The extension a sniffed type gets on disk (cases.attachments decides the type).
DISK_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
# Types every browser shows in an <img>: these get a thumbnail and may be opened inline.
INLINE_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def attachment_path(instance: CaseAttachment, filename: str) -> str:
    """A random name in the case's folder; ``filename`` (the user's) is ignored on purpose.
    Folders of a thousand cases keep any one directory small at 500k cases."""
    extension = DISK_EXTENSIONS.get(instance.content_type, ".bin")
    case_id = instance.case_id
    return f"case-attachments/{case_id // 1000}/{case_id}/{secrets.token_hex(16)}{extension}"


class CaseAttachment(models.Model):
    class Via(models.TextChoices):
        CONSOLE = "console", _("Console")
        PUBLIC = "public", _("Customer")
        API = "api", _("API")

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_via = models.CharField(_("uploaded via"), max_length=20, choices=Via.choices)
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("case attachment")
        verbose_name_plural = _("case attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.original_name}"

    @property
    def is_inline_image(self) -> bool:
        return self.content_type in INLINE_IMAGE_TYPES

    @property
    def shown_to_customer(self) -> bool:
        """The customer's progress page lists the files the customer sent, nothing staff
        attached (an internal photo or document stays internal)."""
        return self.uploaded_via == self.Via.PUBLIC


@receiver(post_delete, sender=CaseAttachment, dispatch_uid="cxloop.cases.attachment_file")
def _delete_file(sender, instance: CaseAttachment, **kwargs) -> None:
    """The file goes when the row is gone for good: after the commit, not on a rollback."""
    name, storage = instance.file.name, instance.file.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))
