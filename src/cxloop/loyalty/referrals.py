"""Referrals: invite codes and links, accepting an invitation, qualifying on the friend's
first completed order, and the referral-rate metric.

Fraud guards run when the invitee accepts; a failed guard still stores the referral, as
``rejected`` with the reason, so the console shows what was tried:

- self-referral: the inviter's own customer record, or the same phone number;
- the invitee's phone, device or address already seen on another invitee's referral, or on
  the inviter (the device/address sent when the code was made, or when they were invited);
- not a new customer: the invitee had an order (other than a cancelled one) before;
- the inviter reached ``referral_monthly_limit`` referrals this month.

A pending referral qualifies when the invitee's first order completes: both sides earn the
points of the programme settings once (``earn_points`` keys ``referral:<id>:inviter`` and
``referral:<id>:invitee``). Accepting locks the inviter's code row, so the monthly limit
holds under concurrent accepts; qualifying locks the referral row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, DateField
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit
from cxloop.customers.models import Customer, Order
from cxloop.loyalty.levels import add_months, program_settings
from cxloop.loyalty.referral_models import Referral, ReferralCode
from cxloop.loyalty.services import LoyaltyError, earn_points

# No 0/O, 1/I/L: codes are read aloud and typed from posters.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # 31^10 ≈ 8e14: not guessable at any rate an API allows
CODE_RE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
R = Referral.RejectReason
FIELD_MAX = 200


class ReferralRejected(LoyaltyError):
    """The invitation was refused by a fraud guard; ``referral`` is the stored rejected row."""

    def __init__(self, referral: Referral):
        self.referral = referral
        message = _("Referral refused: %(reason)s.") % {
            "reason": referral.get_reject_reason_display()
        }
        super().__init__(message, {"code": [message]})


# --- fingerprints and codes -------------------------------------------------------------------


def _normalised(kind: str, value: str) -> str:
    text = re.sub(r"\s+", "", str(value or "")).lower()
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    if kind == "address":
        return re.sub(r"[,，.。#\-—_/]", "", text)
    return text


def fingerprint(kind: str, value: str) -> str:
    """A keyed hash of a phone, device id or address ("" for nothing): equal inputs match,
    and the table does not hold the value itself."""
    text = _normalised(kind, value)
    if not text:
        return ""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"cxloop.referral.{kind}:{text}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _i in range(CODE_LENGTH))


def get_or_create_code(
    *, customer: Customer, actor=None, device_id: str = "", address: str = ""
) -> tuple[ReferralCode, bool]:
    """The customer's invite code (made once); returns (code, created)."""
    existing = ReferralCode.objects.filter(customer=customer).first()
    if existing is not None:
        return existing, False
    for _attempt in range(5):  # a clash of random codes is astronomically rare; retry anyway
        try:
            with transaction.atomic():
                code = ReferralCode.objects.create(
                    customer=customer, code=_new_code(),
                    device_hash=fingerprint("device", device_id),
                    address_hash=fingerprint("address", address),
                )  # fmt: skip
                record_audit(
                    actor=actor, action="loyalty.referral_code_created", target=code,
                    after={"customer": customer.pk},
                )  # fmt: skip
            return code, True
        except IntegrityError:
            existing = ReferralCode.objects.filter(customer=customer).first()
            if existing is not None:  # made concurrently for the same customer
                return existing, False
    raise RuntimeError("could not make a unique referral code")


def referral_link(code: ReferralCode | str) -> str:
    """The link to share; ``CXLOOP_REFERRAL_LINK`` may shape it (``{public}``, ``{code}``)."""
    template = getattr(settings, "CXLOOP_REFERRAL_LINK", "{public}/r/{code}")
    return template.format(public=settings.CXLOOP_PUBLIC_URL, code=str(code))


# --- accepting --------------------------------------------------------------------------------


def _code_of(code: str) -> ReferralCode:
    text = str(code or "").strip().upper()
    found = None
    if CODE_RE.match(text):
        found = ReferralCode.objects.select_related("customer").filter(code=text).first()
    if found is None:
        raise LoyaltyError(_("No such invite code."), {"code": [_("No such invite code.")]})
    return found


def accept_referral(
    *,
    invitee: Customer,
    code: str,
    device_id: str = "",
    address: str = "",
    actor=None,
    now: dt.datetime | None = None,
) -> Referral:
    """The invitee accepts ``code`` (at registration or via the API). Returns the pending
    referral (the existing one when the same code was accepted before); raises
    ``ReferralRejected`` (the rejected row is kept) or ``LoyaltyError`` (unknown code,
    already invited by someone else)."""
    now = now or timezone.now()
    texts = {"device_id": device_id, "address": address}
    too_long = {k: [_("At most %(n)d characters.") % {"n": FIELD_MAX}]
                for k, v in texts.items() if len(v or "") > FIELD_MAX}  # fmt: skip
    if too_long:
        raise LoyaltyError(_("Invalid input"), too_long)
    with transaction.atomic():
        referral_code = ReferralCode.objects.select_for_update().get(pk=_code_of(code).pk)
        earlier = _earlier(invitee, referral_code)
        if earlier is not None:
            return earlier
        hashes = {
            "phone_hash": fingerprint("phone", invitee.phone),
            "device_hash": fingerprint("device", device_id),
            "address_hash": fingerprint("address", address),
        }
        reason, detail = _guard(invitee, referral_code, hashes, now)
        referral = _store(invitee, referral_code, hashes, reason, detail, now, actor)
    if referral.status == Referral.Status.REJECTED:
        raise ReferralRejected(referral)
    return referral


def _earlier(invitee: Customer, code: ReferralCode) -> Referral | None:
    live = Referral.objects.filter(invitee=invitee).exclude(status=Referral.Status.REJECTED)
    earlier = live.first()
    if earlier is None:
        return None
    if earlier.code_id == code.pk:
        return earlier  # the same acceptance again: harmless
    message = _("This customer has already accepted an invitation.")
    raise LoyaltyError(message, {"invitee": [message]})


def _guard(invitee: Customer, code: ReferralCode, hashes: dict, now) -> tuple[str, str]:
    """The first fraud guard that fails, as (reason, detail), or ("", "")."""
    inviter = code.customer
    if invitee.pk == inviter.pk:
        return R.SELF_REFERRAL, _("The inviter used their own code.")
    if hashes["phone_hash"] and hashes["phone_hash"] == fingerprint("phone", inviter.phone):
        return R.SELF_REFERRAL, _("The invitee has the inviter's phone number.")
    for name, reason in (("phone_hash", R.SAME_PHONE), ("device_hash", R.SAME_DEVICE),
                         ("address_hash", R.SAME_ADDRESS)):  # fmt: skip
        seen = _seen(name, hashes[name], invitee, code)
        if seen:
            return reason, seen
    placed_before = Order.objects.filter(customer=invitee, placed_at__lt=now)
    if placed_before.exclude(status=Order.Status.CANCELLED).exists():
        return R.NOT_NEW, _("The invitee had ordered before.")
    if _this_month(code, now) >= program_settings().referral_monthly_limit:
        return R.MONTHLY_LIMIT, _("The inviter reached this month's limit.")
    return "", ""


def _seen(name: str, value: str, invitee: Customer, code: ReferralCode) -> str:
    """Where else ``value`` (a hash) was seen: another invitee's referral, or the inviter."""
    if not value:
        return ""
    others = Referral.objects.filter(**{name: value}).exclude(invitee=invitee)
    other = others.order_by("id").first()
    if other is not None:
        return _("Seen on referral #%(id)d.") % {"id": other.pk}
    inviter_side = Referral.objects.filter(invitee=code.customer, **{name: value})
    if getattr(code, name, "") == value or inviter_side.exists():
        return _("Seen on the inviter.")
    return ""


def _this_month(code: ReferralCode, now: dt.datetime) -> int:
    local = timezone.localtime(now)
    start = timezone.make_aware(dt.datetime(local.year, local.month, 1))
    made = Referral.objects.filter(inviter_id=code.customer_id, accepted_at__gte=start)
    return made.exclude(status=Referral.Status.REJECTED).count()


def _store(invitee, code: ReferralCode, hashes: dict, reason: str, detail: str, now, actor):
    status = Referral.Status.REJECTED if reason else Referral.Status.PENDING
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                inviter=code.customer, invitee=invitee, code=code, status=status,
                reject_reason=reason, reject_detail=detail[:200], accepted_at=now,
                rejected_at=now if reason else None, **hashes,
            )  # fmt: skip
    except IntegrityError:  # the invitee accepted another code at the same moment
        message = _("This customer has already accepted an invitation.")
        raise LoyaltyError(message, {"invitee": [message]}) from None
    action = "loyalty.referral_rejected" if reason else "loyalty.referral_accepted"
    record_audit(
        actor=actor, action=action, target=referral,
        after={"inviter": code.customer_id, "invitee": invitee.pk, "status": status,
               "reason": reason, "detail": detail},
    )  # fmt: skip
    return referral


# --- qualifying -------------------------------------------------------------------------------


def qualify_referral(*, referral: Referral, now: dt.datetime | None = None) -> bool:
    """Qualify a pending referral whose invitee has a completed order, then award both sides
    (once, by key). Returns True when this call qualified it."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Referral.objects.select_for_update().filter(
            pk=referral.pk, status=Referral.Status.PENDING
        )
        row = locked.first()
        first = _first_completed(referral.invitee_id)
        if row is None or first is None:
            return False
        row.status, row.qualified_at, row.order = Referral.Status.QUALIFIED, now, first
        row.save(update_fields=["status", "qualified_at", "order"])
        record_audit(
            actor=None, action="loyalty.referral_qualified", target=row,
            before={"status": Referral.Status.PENDING},
            after={"status": row.status, "order": first.external_id},
        )  # fmt: skip
    award_referral(referral=row, now=now)
    return True


def _first_completed(customer_id: int) -> Order | None:
    orders = Order.objects.filter(customer_id=customer_id, status=Order.Status.COMPLETED)
    return orders.order_by("placed_at", "id").first()


def award_referral(*, referral: Referral, now: dt.datetime | None = None) -> None:
    """Pay both sides of a qualified referral; safe to repeat (the keys make it once)."""
    if referral.status != Referral.Status.QUALIFIED:
        raise ValueError("only qualified referrals are awarded")
    rules = program_settings()
    sides = (
        ("inviter", referral.inviter, rules.referral_inviter_points),
        ("invitee", referral.invitee, rules.referral_invitee_points),
    )
    for side, customer, points in sides:
        if points > 0:
            earn_points(
                customer=customer, points=points, source="referral", order=referral.order,
                idempotency_key=f"referral:{referral.pk}:{side}",
                reason=_("Referral #%(id)d: friend's first order") % {"id": referral.pk},
            )  # fmt: skip
    if referral.awarded_at is None:
        referral.awarded_at = now or timezone.now()
        Referral.objects.filter(pk=referral.pk, awarded_at__isnull=True).update(
            awarded_at=referral.awarded_at
        )


def on_order_completed(*, order: Order) -> bool:
    """An order completed: a pending referral of its customer qualifies."""
    pending = Referral.objects.filter(invitee_id=order.customer_id, status=Referral.Status.PENDING)
    referral = pending.select_related("inviter", "invitee").first()
    return qualify_referral(referral=referral) if referral is not None else False


def sweep_referrals(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Catch up what a missed signal (e.g. a bulk import) left: pending referrals whose
    invitee has a completed order, and qualified ones not yet awarded. Returns how many."""
    completed = Order.objects.filter(status=Order.Status.COMPLETED).values("customer_id")
    due = Referral.objects.filter(status=Referral.Status.PENDING, invitee_id__in=completed)
    done = 0
    for referral in due.select_related("inviter", "invitee")[:limit]:
        done += qualify_referral(referral=referral, now=now)
    unpaid = Referral.objects.filter(status=Referral.Status.QUALIFIED, awarded_at__isnull=True)
    for referral in unpaid.select_related("inviter", "invitee", "order")[:limit]:
        award_referral(referral=referral, now=now)
        done += 1
    return done


# --- the referral rate ------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRate:
    month: dt.date
    new_customers: int
    qualified: int

    @property
    def rate(self) -> float | None:
        """Qualified referrals per new customer of the month (None without new customers)."""
        return self.qualified / self.new_customers if self.new_customers else None


def referral_rate(*, start: dt.date, end: dt.date) -> list[MonthRate]:
    """Per month from ``start`` to ``end`` (inclusive, local dates): qualified referrals /
    new customers (registration date, else the day the record was made). Two grouped queries."""
    first = start.replace(day=1)
    lo = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    hi = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    joined = Coalesce("registered_at", TruncDate("created_at"), output_field=DateField())
    new = (
        Customer.objects.annotate(day=joined)
        .filter(day__gte=first, day__lte=end)
        .annotate(month=TruncMonth("day", output_field=DateField()))
        .values("month")
        .annotate(n=Count("id"))
    )
    qualified = (
        Referral.objects.filter(
            status=Referral.Status.QUALIFIED, qualified_at__gte=lo, qualified_at__lt=hi
        )
        .annotate(month=TruncMonth("qualified_at", output_field=DateField()))
        .values("month")
        .annotate(n=Count("id"))
    )
    new_by = {_as_date(row["month"]): row["n"] for row in new}
    qualified_by = {_as_date(row["month"]): row["n"] for row in qualified}
    return [
        MonthRate(month, new_by.get(month, 0), qualified_by.get(month, 0))
        for month in _months(first, end)
    ]


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _months(first: dt.date, end: dt.date) -> list[dt.date]:
    months, month = [], first
    while month <= end:
        months.append(month)
        month = add_months(dt.datetime.combine(month, dt.time.min), 1).date()
    return months


def referrals_of(*, inviter: Customer | None = None, status: str | None = None):
    """Referrals, newest first, optionally of one inviter and one status."""
    rows = Referral.objects.select_related("inviter", "invitee", "code", "order")
    if inviter is not None:
        rows = rows.filter(inviter=inviter)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-accepted_at", "-id")


def counts_by_status(*, inviter: Customer) -> dict[str, int]:
    """The inviter's referrals by status."""
    counts = Referral.objects.filter(inviter=inviter).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in counts}


__all__ = [
    "ReferralRejected", "accept_referral", "award_referral", "fingerprint", "get_or_create_code",
    "on_order_completed", "qualify_referral", "referral_link", "referral_rate", "referrals_of",
    "sweep_referrals",
]  # fmt: skip
