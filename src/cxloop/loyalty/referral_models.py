"""Referrals: each customer's invite code, and one row per invitation accepted with it.

Phone, device and address are kept only as keyed hashes (``referrals.fingerprint``): enough
to see the same phone or device come back on another referral, without storing them twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReferralCode(models.Model):
    """A customer's invite code (short, unguessable, unique) for links like ``/r/<code>``."""

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="referral_code",
    )
    code = models.CharField(_("code"), max_length=16, unique=True)
    # The inviter's own device and address, when the code was asked for from an app.
    device_hash = models.CharField(max_length=64, blank=True, db_index=True)
    address_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the first order")
        QUALIFIED = "qualified", _("Qualified")
        REJECTED = "rejected", _("Rejected")

    class RejectReason(models.TextChoices):
        SELF_REFERRAL = "self_referral", _("Self-referral")
        SAME_PHONE = "same_phone", _("Phone already seen")
        SAME_DEVICE = "same_device", _("Device already seen")
        SAME_ADDRESS = "same_address", _("Address already seen")
        NOT_NEW = "not_new", _("Not a new customer")
        MONTHLY_LIMIT = "monthly_limit", _("Inviter's monthly limit reached")

    inviter = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("inviter"),
        on_delete=models.CASCADE,
        related_name="referrals_made",
    )
    invitee = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("invitee"),
        on_delete=models.CASCADE,
        related_name="referrals_received",
    )
    code = models.ForeignKey(
        ReferralCode, verbose_name=_("code"), on_delete=models.PROTECT, related_name="referrals"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    reject_reason = models.CharField(
        _("rejection reason"), max_length=30, choices=RejectReason.choices, blank=True
    )
    reject_detail = models.CharField(_("rejection detail"), max_length=200, blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    device_hash = models.CharField(max_length=64, blank=True, db_index=True)
    address_hash = models.CharField(max_length=64, blank=True, db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), default=timezone.now, db_index=True)
    qualified_at = models.DateTimeField(_("qualified at"), null=True, blank=True, db_index=True)
    awarded_at = models.DateTimeField(_("points awarded at"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    order = models.ForeignKey(
        "customers.Order",
        verbose_name=_("first order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-accepted_at", "-id"]
        indexes = [
            models.Index(fields=["inviter", "accepted_at"], name="loyalty_referral_inviter"),
        ]
        constraints = [
            # A customer is invited once; a rejected attempt does not use that up.
            models.UniqueConstraint(
                fields=["invitee"],
                condition=~Q(status="rejected"),
                name="loyalty_referral_one_per_invitee",
            ),
            models.CheckConstraint(
                condition=Q(status="rejected", reject_reason__gt="")
                | (~Q(status="rejected") & Q(reject_reason="")),
                name="loyalty_referral_reason_iff_rejected",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inviter_id} → {self.invitee_id} ({self.status})"


__all__ = ["Referral", "ReferralCode"]
