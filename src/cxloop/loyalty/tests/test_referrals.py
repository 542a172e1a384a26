"""Referrals: codes and links, accepting, every fraud guard, qualifying on the friend's first
completed order with both sides paid once, the catch-up sweep and the referral rate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.core.models import AuditLog
from cxloop.loyalty import referrals
from cxloop.loyalty.level_models import ProgramSettings
from cxloop.loyalty.models import PointsEntry
from cxloop.loyalty.referral_models import Referral, ReferralCode
from cxloop.loyalty.referrals import (
    ReferralRejected,
    accept_referral,
    fingerprint,
    get_or_create_code,
    qualify_referral,
    referral_rate,
    sweep_referrals,
)
from cxloop.loyalty.selectors import balance_of
from cxloop.loyalty.services import LoyaltyError
from cxloop.loyalty.tests import level_helpers as h
from cxloop.loyalty.tests.level_helpers import level_setup  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db


@pytest.fixture
def inviter():
    return h.customer("A001", name="张伟", phone="13800000001")


@pytest.fixture
def code(inviter):
    return get_or_create_code(customer=inviter)[0]


def _invitee(external_id: str = "B001", phone: str = "13900000002"):
    return h.customer(external_id, phone=phone)


def _rejected(**kwargs) -> Referral:
    with pytest.raises(ReferralRejected) as refused:
        accept_referral(**kwargs)
    row = refused.value.referral
    assert Referral.objects.get(pk=row.pk).status == "rejected"
    assert refused.value.errors["code"]
    return row


# --- codes ------------------------------------------------------------------------------------


def test_a_code_is_short_unguessable_unique_and_made_once(inviter, settings):
    settings.CXLOOP_PUBLIC_URL = "https://cx.example.com"
    code, created = get_or_create_code(customer=inviter)
    assert created and len(code.code) == 10 and set(code.code) <= set(referrals.ALPHABET)
    again, created_again = get_or_create_code(customer=inviter)
    assert (again.pk, created_again) == (code.pk, False)
    other = get_or_create_code(customer=h.customer())[0]
    assert other.code != code.code
    assert referrals.referral_link(code) == f"https://cx.example.com/r/{code.code}"
    assert AuditLog.objects.filter(action="loyalty.referral_code_created").count() == 2


def test_fingerprints_hide_the_value_and_match_variants():
    assert fingerprint("phone", "+86 138-0000-0001") == fingerprint("phone", "13800000001")
    assert fingerprint("phone", "13800000001") != fingerprint("device", "13800000001")
    assert "13800000001" not in fingerprint("phone", "13800000001")
    assert fingerprint("address", "上海市 徐汇区, 1号") == fingerprint("address", "上海市徐汇区1号")
    assert fingerprint("device", "") == ""


# --- accepting --------------------------------------------------------------------------------


def test_accepting_makes_a_pending_referral(code, inviter, owner):
    invitee = _invitee()
    row = accept_referral(invitee=invitee, code=code.code.lower(), device_id="dev-1", actor=owner)
    assert (row.status, row.inviter, row.invitee, row.reject_reason) == (
        "pending", inviter, invitee, ""
    )  # fmt: skip
    assert row.device_hash == fingerprint("device", "dev-1") and row.phone_hash
    assert AuditLog.objects.filter(action="loyalty.referral_accepted", actor=owner).exists()
    again = accept_referral(invitee=invitee, code=code.code)
    assert again.pk == row.pk and Referral.objects.count() == 1


def test_a_second_inviter_is_refused(code):
    invitee = _invitee()
    accept_referral(invitee=invitee, code=code.code)
    other = get_or_create_code(customer=h.customer(phone="13700000003"))[0]
    with pytest.raises(LoyaltyError) as error:
        accept_referral(invitee=invitee, code=other.code)
    assert "invitee" in error.value.errors


@pytest.mark.parametrize("bad", ["", "NOPE", "2345678923", "x" * 100, "ABCDEFGHJK\x00"])
def test_unknown_codes_are_refused(bad, code):
    with pytest.raises(LoyaltyError) as error:
        accept_referral(invitee=_invitee(), code=bad)
    assert "code" in error.value.errors
    assert not Referral.objects.exists()


def test_too_long_device_or_address_is_refused(code):
    with pytest.raises(LoyaltyError) as error:
        accept_referral(invitee=_invitee(), code=code.code, address="路" * 201)
    assert "address" in error.value.errors


# --- fraud guards -----------------------------------------------------------------------------


def test_guard_self_referral_by_the_same_customer(inviter, code):
    row = _rejected(invitee=inviter, code=code.code)
    assert row.reject_reason == "self_referral"
    assert AuditLog.objects.filter(action="loyalty.referral_rejected").exists()


def test_guard_self_referral_by_the_same_phone(code):
    row = _rejected(invitee=_invitee(phone="+86 138 0000 0001"), code=code.code)
    assert row.reject_reason == "self_referral"


def test_guard_phone_seen_on_another_referral(code):
    first = _invitee("B001", phone="13900000002")
    accept_referral(invitee=first, code=code.code)
    twin = _invitee("B002", phone="139-0000-0002")
    row = _rejected(invitee=twin, code=code.code)
    assert row.reject_reason == "same_phone"
    assert str(Referral.objects.get(invitee=first).pk) in row.reject_detail


def test_guard_device_seen_on_another_referral(code):
    accept_referral(invitee=_invitee("B001", "13900000002"), code=code.code, device_id="dev-9")
    row = _rejected(invitee=_invitee("B002", "13900000003"), code=code.code, device_id="dev-9")
    assert row.reject_reason == "same_device"


def test_guard_device_of_the_inviter(inviter):
    code = get_or_create_code(customer=inviter, device_id="phone-of-A")[0]
    row = _rejected(invitee=_invitee(), code=code.code, device_id="phone-of-A")
    assert (row.reject_reason, row.reject_detail) == ("same_device", "Seen on the inviter.")


def test_guard_device_the_inviter_was_invited_on(code, inviter):
    grand = get_or_create_code(customer=h.customer("Z001", phone="13600000009"))[0]
    Referral.objects.create(
        inviter=grand.customer, invitee=inviter, code=grand,
        device_hash=fingerprint("device", "shared-ipad"),
    )  # fmt: skip
    row = _rejected(invitee=_invitee(), code=code.code, device_id="shared-ipad")
    assert row.reject_reason == "same_device"


def test_guard_address_seen_on_another_referral(code):
    accept_referral(invitee=_invitee("B001", "13900000002"), code=code.code, address="徐汇区 1号")
    row = _rejected(invitee=_invitee("B002", "13900000003"), code=code.code, address="徐汇区1号")
    assert row.reject_reason == "same_address"


def test_guard_not_a_new_customer(code):
    invitee = _invitee()
    h.order(invitee, status="completed", placed_at=timezone.now() - dt.timedelta(days=30))
    row = _rejected(invitee=invitee, code=code.code)
    assert row.reject_reason == "not_new"


def test_a_cancelled_earlier_order_does_not_make_an_old_customer(code):
    invitee = _invitee()
    h.order(invitee, status="cancelled", placed_at=timezone.now() - dt.timedelta(days=3))
    assert accept_referral(invitee=invitee, code=code.code).status == "pending"


def test_guard_monthly_limit_per_inviter(code):
    ProgramSettings.objects.filter(pk=1).update(referral_monthly_limit=2)
    now = timezone.make_aware(dt.datetime(2026, 5, 20, 10, 0))
    for i in range(2):
        accept_referral(invitee=_invitee(f"B{i}", f"1390000001{i}"), code=code.code, now=now)
    row = _rejected(invitee=_invitee("B9", "13900000019"), code=code.code, now=now)
    assert row.reject_reason == "monthly_limit"
    june = timezone.make_aware(dt.datetime(2026, 6, 1, 0, 5))
    later = accept_referral(invitee=_invitee("B8", "13900000018"), code=code.code, now=june)
    assert later.status == "pending"


def test_a_rejected_invitee_may_still_accept_a_genuine_code(inviter, code):
    invitee = _invitee(phone="13800000001")  # the inviter's phone: refused
    _rejected(invitee=invitee, code=code.code)
    other = get_or_create_code(customer=h.customer("C001", phone="13500000005"))[0]
    assert accept_referral(invitee=invitee, code=other.code).status == "pending"
    assert Referral.objects.filter(invitee=invitee).count() == 2


# --- qualifying and awards --------------------------------------------------------------------


def _entries(side: str):
    return PointsEntry.objects.filter(idempotency_key__endswith=f":{side}", source="referral")


def test_the_first_completed_order_qualifies_and_pays_both_sides_once(code, inviter):
    invitee = _invitee()
    row = accept_referral(invitee=invitee, code=code.code)
    h.complete_order(invitee, amount_fen=9_900, status="delivered")
    assert Referral.objects.get(pk=row.pk).status == "pending"  # delivered is not completed
    order = h.complete_order(invitee, amount_fen=9_900)
    row.refresh_from_db()
    assert (row.status, row.order, row.awarded_at is not None) == ("qualified", order, True)
    inviter_entry = _entries("inviter").get()
    assert inviter_entry.idempotency_key == f"referral:{row.pk}:inviter"
    assert inviter_entry.points == 500 and inviter_entry.account.customer == inviter
    assert _entries("invitee").get().idempotency_key == f"referral:{row.pk}:invitee"
    h.complete_order(invitee, amount_fen=20_000)  # a second order pays nothing more
    assert qualify_referral(referral=row) is False
    referrals.award_referral(referral=row)  # a replay: the keys make it once
    assert _entries("inviter").count() == 1 and _entries("invitee").count() == 1
    assert balance_of(customer=inviter) >= 500


def test_a_rejected_referral_never_pays(inviter, code):
    _rejected(invitee=inviter, code=code.code)
    h.complete_order(inviter, amount_fen=9_900)
    assert not _entries("inviter").exists()


def test_settings_change_the_points(code):
    ProgramSettings.objects.filter(pk=1).update(
        referral_inviter_points=80, referral_invitee_points=0
    )
    invitee = _invitee()
    accept_referral(invitee=invitee, code=code.code)
    h.complete_order(invitee)
    assert list(_entries("inviter").values_list("points", flat=True)) == [80]
    assert not _entries("invitee").exists()


def test_a_chain_of_three_generations(inviter, code):
    b = _invitee("B001", "13900000002")
    accept_referral(invitee=b, code=code.code, device_id="b-phone")
    h.complete_order(b)
    c = _invitee("C001", "13700000007")
    accept_referral(invitee=c, code=get_or_create_code(customer=b)[0].code, device_id="c-phone")
    h.complete_order(c)
    rows = Referral.objects.order_by("id")
    assert [(r.inviter.external_id, r.invitee.external_id, r.status) for r in rows] == [
        ("A001", "B001", "qualified"), ("B001", "C001", "qualified"),
    ]  # fmt: skip
    assert _entries("inviter").count() == 2 and _entries("invitee").count() == 2


def test_the_sweep_catches_orders_that_came_without_a_signal(code):
    invitee = _invitee()
    row = accept_referral(invitee=invitee, code=code.code)
    h.order(invitee, amount_fen=5_000)  # written directly: no receiver ran
    assert Referral.objects.get(pk=row.pk).status == "pending"
    assert sweep_referrals() == 1
    assert Referral.objects.get(pk=row.pk).status == "qualified"
    assert sweep_referrals() == 0
    assert _entries("inviter").count() == 1


def test_the_sweep_pays_a_qualified_referral_left_unpaid(code):
    invitee = _invitee()
    row = accept_referral(invitee=invitee, code=code.code)
    order = h.order(invitee)
    Referral.objects.filter(pk=row.pk).update(
        status="qualified", order=order, qualified_at=timezone.now()
    )
    assert sweep_referrals() == 1
    assert Referral.objects.get(pk=row.pk).awarded_at is not None
    assert _entries("invitee").count() == 1


# --- the referral rate ------------------------------------------------------------------------


def test_referral_rate_by_month(code):
    march, april = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    for i in range(4):
        h.customer(f"N3-{i}", registered_at=dt.date(2026, 3, 5 + i))
    h.customer("N4-0", registered_at=dt.date(2026, 4, 2))
    invitee = h.customer("N4-1", registered_at=dt.date(2026, 4, 3), phone="13100000001")
    accept_referral(
        invitee=invitee, code=code.code, now=timezone.make_aware(dt.datetime(2026, 3, 30))
    )
    row = Referral.objects.get()
    Referral.objects.filter(pk=row.pk).update(
        status="qualified", qualified_at=timezone.make_aware(dt.datetime(2026, 4, 30, 23, 30))
    )
    rates = referral_rate(start=dt.date(2026, 3, 15), end=dt.date(2026, 5, 31))
    assert [(r.month, r.new_customers, r.qualified) for r in rates] == [
        (march, 4, 0), (april, 2, 1), (dt.date(2026, 5, 1), 0, 0),
    ]  # fmt: skip
    assert rates[0].rate == 0 and rates[1].rate == 0.5 and rates[2].rate is None


def test_customers_without_registration_date_count_by_creation(code):
    made = timezone.make_aware(dt.datetime(2026, 2, 10, 9, 0))
    h.customer("N-no-date", created_at=made)
    rates = referral_rate(start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28))
    assert rates[0].new_customers == 1


def test_the_code_of_a_referral_is_kept(code):
    row = accept_referral(invitee=_invitee(), code=code.code)
    assert row.code == ReferralCode.objects.get(customer=code.customer)


# --- accepting on registration ----------------------------------------------------------------


def _register(external_id: str, phone: str, **extra):
    from cxloop.core.events import record_event

    payload = {"customer_external_id": external_id,
               "customer": {"name": "新客", "phone": phone}, **extra}  # fmt: skip
    return record_event(
        event_id=f"reg-{external_id}", type="customer.registered", occurred_at=timezone.now(),
        payload=payload,
    )  # fmt: skip


def test_a_registration_event_with_a_code_accepts_it(code, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _register("R001", "13300000001", referral_code=code.code, device_id="reg-dev")
    row = Referral.objects.get(invitee__external_id="R001")
    assert (row.status, row.inviter, row.device_hash) == (
        "pending", code.customer, fingerprint("device", "reg-dev")
    )  # fmt: skip


def test_a_refused_or_wrong_code_on_registration_never_fails_the_event(
    code, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _register("R002", "13800000001", referral_code=code.code)  # the inviter's phone
        _register("R003", "13300000003", referral_code="NOSUCHCODE")
        _register("R004", "13300000004", referral_code=["odd"], device_id=5)
        _register("R005", "13300000005")
    assert [r.reject_reason for r in Referral.objects.all()] == ["self_referral"]


# --- concurrency (PostgreSQL) -----------------------------------------------------------------


def _in_threads(count: int, work) -> list:
    import threading

    from django.db import connection

    results, barrier = [], threading.Barrier(count)

    def run():
        try:
            barrier.wait()
            results.append(work())
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_qualifications_pay_once():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    inviter = h.customer("A001", phone="13800000001")
    invitee = _invitee()
    row = accept_referral(invitee=invitee, code=get_or_create_code(customer=inviter)[0].code)
    h.order(invitee)
    results = _in_threads(6, lambda: qualify_referral(referral=Referral.objects.get(pk=row.pk)))
    assert sorted(results) == [False] * 5 + [True]
    assert _entries("inviter").count() == 1 and _entries("invitee").count() == 1
    assert balance_of(customer=inviter) == 500 and balance_of(customer=invitee) == 300
