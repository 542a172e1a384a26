"""Console pages of levels, stars and referrals: who may see and change what, the edit forms
(re-rendered with messages per field on bad input, audited on save), the member panel
fragment and the referrals list with the referral rate."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.core.models import AuditLog
from cxloop.loyalty.level_models import Level, ProgramSettings, StarsProgram
from cxloop.loyalty.referrals import ReferralRejected, accept_referral, get_or_create_code
from cxloop.loyalty.tests import level_helpers as h
from cxloop.loyalty.tests.level_helpers import level_setup  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db


def _level_form(**overrides) -> dict:
    data = {
        "code": "platinum", "name": "铂金会员", "rank": 25, "min_spend": "10,000",
        "window_months": 12, "price_percent": 88, "free_after_sales": "on", "is_active": "on",
        "benefits_text": "全场 88 折\n免费售后服务",
    }  # fmt: skip
    return {**data, **overrides}


def test_the_levels_page(owner_client, teammate_client, analyst_client):
    h.complete_order(h.customer(), amount_fen=250_000)
    page = owner_client.get(reverse("loyalty:levels"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "银卡会员" in text and "¥2,000.00 in 12 months" in text and "每月集星星" in text
    assert reverse("loyalty:level_new") in text  # managers may change
    assert page.context["rows"][0][1] == 1  # one silver member
    for client in (teammate_client, analyst_client):
        seen = client.get(reverse("loyalty:levels"))
        assert seen.status_code == 200 and reverse("loyalty:level_new") not in seen.content.decode()


def test_outsiders_are_refused_everywhere(outsider_client, client):
    c = h.customer()
    program = StarsProgram.objects.get()
    urls = [
        reverse("loyalty:levels"), reverse("loyalty:level_new"),
        reverse("loyalty:level_edit", args=[Level.objects.first().pk]),
        reverse("loyalty:levels_settings"), reverse("loyalty:stars_new"),
        reverse("loyalty:stars_edit", args=[program.pk]),
        reverse("loyalty:member_panel", args=[c.pk]), reverse("loyalty:referrals"),
    ]  # fmt: skip
    for url in urls:
        assert outsider_client.get(url).status_code == 403, url
        assert client.get(url).status_code == 302, url  # not signed in: to the login page
    assert outsider_client.post(reverse("loyalty:level_new"), _level_form()).status_code == 403
    assert not Level.objects.filter(code="platinum").exists()


def test_only_managers_change_levels(teammate_client, analyst_client):
    for client in (teammate_client, analyst_client):
        assert client.get(reverse("loyalty:level_new")).status_code == 403
        assert client.post(reverse("loyalty:level_new"), _level_form()).status_code == 403
        assert client.post(reverse("loyalty:levels_settings"), {}).status_code == 403
    assert not Level.objects.filter(code="platinum").exists()


def test_create_and_edit_a_level(owner_client, owner):
    response = owner_client.post(reverse("loyalty:level_new"), _level_form())
    assert response.status_code == 302
    level = Level.objects.get(code="platinum")
    assert (level.min_spend_fen, level.price_percent, level.free_after_sales) == (
        1_000_000,
        88,
        True,
    )
    assert level.benefits == ["全场 88 折", "免费售后服务"]
    form = owner_client.get(reverse("loyalty:level_edit", args=[level.pk]))
    assert form.context["form"].initial["min_spend"] == "10,000.00"
    owner_client.post(reverse("loyalty:level_edit", args=[level.pk]), _level_form(price_percent=85))
    level.refresh_from_db()
    assert level.price_percent == 85
    audit = AuditLog.objects.get(action="loyalty.level_updated")
    assert (audit.actor, audit.before, audit.after) == (
        owner,
        {"price_percent": 88},
        {"price_percent": 85},
    )
    assert AuditLog.objects.filter(action="loyalty.level_created", actor=owner).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_spend", "abc"), ("min_spend", ""), ("price_percent", 0), ("price_percent", 101),
        ("window_months", 0), ("window_months", 61), ("code", "silver"), ("rank", 10),
        ("benefits_text", "x" * 101), ("code", "no spaces!"),
    ],
)  # fmt: skip
def test_bad_level_input_re_renders_with_the_message(owner_client, field, value):
    response = owner_client.post(reverse("loyalty:level_new"), _level_form(**{field: value}))
    assert response.status_code == 400
    target = field if field in response.context["form"].fields else "__all__"
    assert response.context["form"].errors.get(target), response.context["form"].errors
    assert not Level.objects.filter(name="铂金会员").exists()


def test_programme_settings(owner_client, owner):
    data = {"downgrade_grace_days": 14, "long_term_years": 3, "referral_inviter_points": 800,
            "referral_invitee_points": 200, "referral_monthly_limit": 5}  # fmt: skip
    assert owner_client.post(reverse("loyalty:levels_settings"), data).status_code == 302
    row = ProgramSettings.objects.get(pk=1)
    assert (row.downgrade_grace_days, row.referral_inviter_points) == (14, 800)
    assert AuditLog.objects.filter(action="loyalty.program_settings_updated", actor=owner).exists()
    bad = owner_client.post(reverse("loyalty:levels_settings"), {**data, "long_term_years": 0})
    assert bad.status_code == 400 and bad.context["form"].errors["long_term_years"]
    bad = owner_client.post(
        reverse("loyalty:levels_settings"), {**data, "referral_inviter_points": -1}
    )
    assert bad.status_code == 400 and bad.context["form"].errors["referral_inviter_points"]


def _stars_form(**overrides) -> dict:
    data = {
        "name": "四月",
        "month_text": "2026-04",
        "steps_text": "2:20\n5:100:保温杯",
        "stars_per_order": 1,
        "stars_per_survey": 2,
        "stars_per_review": 1,
        "is_active": "on",
    }
    return {**data, **overrides}


def test_stars_ladders(owner_client):
    assert owner_client.post(reverse("loyalty:stars_new"), _stars_form()).status_code == 302
    program = StarsProgram.objects.get(name="四月")
    assert program.thresholds == [
        {"stars": 2, "points": 20, "reward": ""}, {"stars": 5, "points": 100, "reward": "保温杯"}
    ]  # fmt: skip
    assert not program.is_default and program.month.isoformat() == "2026-04-01"
    edit = owner_client.get(reverse("loyalty:stars_edit", args=[program.pk]))
    assert edit.context["form"].initial["steps_text"] == "2:20\n5:100:保温杯"


@pytest.mark.parametrize(
    ("field", "value"),
    [("month_text", "2026-13"), ("month_text", "April"), ("steps_text", "3"),
     ("steps_text", "3:10\n3:20"), ("steps_text", ""), ("month_text", "")],
)  # fmt: skip
def test_bad_stars_input(owner_client, field, value):
    response = owner_client.post(reverse("loyalty:stars_new"), _stars_form(**{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors[field]  # "" month: a default ladder exists already


def test_member_panel_fragment_and_page(teammate_client):
    c = h.customer(name="周杰")
    h.complete_order(c, amount_fen=376_000)
    fragment = teammate_client.get(
        reverse("loyalty:member_panel", args=[c.pk]), HTTP_HX_REQUEST="true"
    )
    text = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in text
    assert "银卡会员" in text and "¥1,240.00 more by" in text and "for 金卡会员" in text
    assert "Stars in" in text
    page = teammate_client.get(reverse("loyalty:member_panel", args=[c.pk]))
    assert "<html" in page.content.decode() and "周杰" in page.content.decode()
    assert teammate_client.get(reverse("loyalty:member_panel", args=[999_999])).status_code == 404


def test_referrals_page(analyst_client):
    a = h.customer("A001", phone="13800000001")
    code = get_or_create_code(customer=a)[0]
    accept_referral(invitee=h.customer("B001", phone="13900000002"), code=code.code)
    with pytest.raises(ReferralRejected):  # the self-referral is refused and recorded
        accept_referral(invitee=a, code=code.code)
    page = analyst_client.get(reverse("loyalty:referrals"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Self-referral" in text and "Waiting for the first order" in text
    assert "Referral rate by month" in text and len(page.context["rates"]) == 12
    only = analyst_client.get(reverse("loyalty:referrals"), {"status": "rejected"})
    assert [r.reject_reason for r in only.context["page"]] == ["self_referral"]
    odd = analyst_client.get(reverse("loyalty:referrals"), {"status": "<odd>"})
    assert odd.status_code == 200 and len(odd.context["page"]) == 2
