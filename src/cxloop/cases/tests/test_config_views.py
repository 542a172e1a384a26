"""Console pages of the cases settings: permissions by URL, list / create / edit per section,
field messages on bad input, the affected-cases count and the recalculation message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from cxloop.cases.config_forms import hours_text, parse_hours
from cxloop.cases.models import AssignmentRule, Category, Membership, SlaRule, Solution
from cxloop.cases.tests.sla_helpers import at, calendar, clock, department, opened, rule
from cxloop.core.calendars import round_the_clock_calendar
from cxloop.core.models import AuditLog, BusinessCalendar

pytestmark = pytest.mark.django_db
T = SlaRule.Target


def url(name: str, *args) -> str:
    return reverse(f"cases_config:{name}", args=args)


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def some_of_each(departments, categories, owner):
    """One row per section, so every edit page has something to show."""
    return {
        "taxonomy": categories["product"],
        "departments": departments["service"],
        "sla": rule(T.RESOLUTION, minutes=600),
        "routing": AssignmentRule.objects.create(name="物流", department=departments["logistics"]),
        "calendars": calendar("门店", use_chinese_holidays=False),
        "solutions": Solution.objects.create(title="退款", body="请在订单页申请退款。"),
    }


def every_page(rows) -> list[str]:
    pages = [url("index")]
    for slug, row in rows.items():
        pages += [url("list", slug), url("new", slug), url("edit", slug, row.pk)]
    return pages


# --- permissions -----------------------------------------------------------------------------


def test_the_manager_sees_every_page(owner_client, some_of_each):
    for page in every_page(some_of_each):
        response = owner_client.get(page)
        assert response.status_code == 200, page
        assert b"Case settings" in response.content


@pytest.mark.parametrize("who", ["teammate_client", "outsider_client", "handler_client",
                                 "analyst_client"])  # fmt: skip
def test_everyone_else_is_refused_by_url(request, who, some_of_each):
    client = request.getfixturevalue(who)
    for page in every_page(some_of_each):
        assert client.get(page).status_code == 403, page
    category = some_of_each["taxonomy"]
    posts = [
        (url("edit", "taxonomy", category.pk), {"code": "x", "name": "改掉"}),
        (url("new", "taxonomy"), {"code": "new-one", "name": "新"}),
        (url("remove", "taxonomy", category.pk), {}),
        (url("member_add", some_of_each["departments"].pk), {"user": "1", "role": "member"}),
    ]
    for page, data in posts:
        assert client.post(page, data).status_code == 403, page
    category.refresh_from_db()
    assert category.name == "产品质量" and category.is_active
    assert not Category.objects.filter(code="new-one").exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(url("index"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_an_unknown_section_is_a_404(owner_client):
    assert owner_client.get("/cases/settings/weather/").status_code == 404


def test_the_nav_links_to_the_settings_for_managers_only(owner_client, teammate_client):
    assert url("index").encode() in owner_client.get(reverse("console:home")).content
    assert url("index").encode() not in teammate_client.get(reverse("console:home")).content


# --- create and edit -------------------------------------------------------------------------


def test_creating_a_category_from_the_form(owner_client, owner, departments):
    data = {"code": "delivery-late", "name": "配送延迟", "is_active": "on",
            "default_department": departments["logistics"].pk}  # fmt: skip
    response = owner_client.post(url("new", "taxonomy"), data)
    assert response.status_code == 302 and response["Location"] == url("list", "taxonomy")
    category = Category.objects.get(code="delivery-late")
    assert category.default_department == departments["logistics"] and category.is_active
    assert AuditLog.objects.filter(action="case.category.created", actor=owner).count() == 1
    assert "配送延迟" in owner_client.get(url("list", "taxonomy")).content.decode()


def test_bad_input_re_renders_with_the_message_on_the_field(owner_client, categories):
    response = owner_client.post(url("new", "taxonomy"), {"code": "product-test", "name": "重复"})
    assert response.status_code == 400
    assert response.context["form"].errors["code"] == ["This code is already taken."]
    assert "This code is already taken." in response.content.decode()
    response = owner_client.post(url("new", "sla"), {"name": "两者", "target": "resolution",
                                                     "minutes": "60", "working_days": "2",
                                                     "warn_percent": "80"})  # fmt: skip
    assert response.status_code == 400
    assert response.context["form"].errors["working_days"] == [
        "Enter working minutes or working days, not both."
    ]
    assert not SlaRule.objects.filter(name="两者").exists()


def test_removing_a_category_in_use_deactivates_it(owner_client, categories):
    product = categories["product"]
    Solution.objects.create(title="退款", body="…", category=product)
    response = owner_client.post(url("remove", "taxonomy", product.pk), follow=True)
    assert "deactivated instead of deleted" in " ".join(flashed(response))
    product.refresh_from_db()
    assert product.is_active is False


def test_members_are_added_changed_and_removed(owner_client, departments, teammate):
    service = departments["service"]
    response = owner_client.post(url("member_add", service.pk), {"user": teammate.pk,
                                                               "role": "supervisor",
                                                               "accepts_cases": "on"})  # fmt: skip
    assert response.status_code == 302
    member = Membership.objects.get(department=service, user=teammate)
    assert member.role == "supervisor" and member.accepts_cases
    again = owner_client.post(url("member_add", service.pk), {"user": teammate.pk,
                                                            "role": "member"})  # fmt: skip
    assert again.status_code == 400
    assert "teammate is already a member." in again.content.decode()

    owner_client.post(url("member_update", service.pk, member.pk),
                      {f"m{member.pk}-role": "member"})  # fmt: skip
    member.refresh_from_db()
    assert member.role == "member" and member.accepts_cases is False
    owner_client.post(url("member_remove", service.pk, member.pk))
    assert not Membership.objects.filter(pk=member.pk).exists()
    audited = AuditLog.objects.filter(object_type="cases.membership")
    actions = audited.values_list("action", flat=True)
    assert sorted(actions) == ["case.membership.changed", "case.membership.created",
                               "case.membership.deleted"]  # fmt: skip


def test_a_member_of_another_department_is_not_reachable(owner_client, departments, supervisor):
    member = Membership.objects.get(user=supervisor)  # in customer service
    logistics = departments["logistics"]
    assert owner_client.post(url("member_remove", logistics.pk, member.pk)).status_code == 404
    assert Membership.objects.filter(pk=member.pk).exists()


# --- deadlines: counts and the recalculation message -----------------------------------------


def test_the_rule_page_counts_its_open_cases_and_saving_recalculates_them(owner_client, on_commit):
    SlaRule.objects.all().delete()
    resolution = rule(T.RESOLUTION, minutes=600, calendar=round_the_clock_calendar())
    start = at("2026-03-11 09:00")
    case = opened(created_at=start)
    page = owner_client.get(url("edit", "sla", resolution.pk))
    assert page.context["affected"] == 1
    assert "1 open case has a running deadline from this rule" in page.content.decode()
    listing = owner_client.get(url("list", "sla"))
    assert [row.open_cases for row in listing.context["rows"]] == [1]

    form = page.context["form"].initial | {"minutes": 1200, "calendar": resolution.calendar_id}
    data = {k: v for k, v in form.items() if v not in (None, False)}
    with on_commit():
        response = owner_client.post(url("edit", "sla", resolution.pk), data, follow=True)
    assert flashed(response) == ["Saved. The deadlines of 1 open case are being recalculated."]
    assert clock(case, T.RESOLUTION).due_at == start + dt.timedelta(hours=20)


def test_deactivating_a_rule_from_its_page(owner_client, on_commit):
    SlaRule.objects.all().delete()
    resolution = rule(T.RESOLUTION, minutes=600)
    opened(created_at=at("2026-03-11 09:00"))
    with on_commit():
        response = owner_client.post(url("remove", "sla", resolution.pk), follow=True)
    assert "Deactivated. The deadlines of 1 open case are being recalculated." in flashed(response)
    assert SlaRule.objects.get(pk=resolution.pk).is_active is False


def calendar_post(row: BusinessCalendar, **changes) -> dict:
    data = {"name": row.name, "time_zone": row.time_zone, "extra_holidays": "",
            "extra_workdays": ""}  # fmt: skip
    for day in range(7):
        data[f"day_{day}"] = hours_text((row.weekly_hours or {}).get(str(day)))
    for flag in ("is_default", "always_open", "use_chinese_holidays"):
        if getattr(row, flag):
            data[flag] = "on"
    return data | changes


def test_the_calendar_form_edits_hours_and_recalculates(owner_client, owner, on_commit):
    SlaRule.objects.all().delete()
    store = calendar("门店", use_chinese_holidays=False)
    rule(T.RESOLUTION, minutes=8 * 60)
    case = opened(created_at=at("2026-03-11 09:00"), department=department("s", calendar=store))
    page = owner_client.get(url("edit", "calendars", store.pk))
    assert page.context["form"].initial["day_0"] == "09:00-12:00, 13:30-18:00"
    assert page.context["affected"] == 1

    no_lunch = {f"day_{day}": "09:00 - 18:00" for day in range(5)}
    with on_commit():
        response = owner_client.post(
            url("edit", "calendars", store.pk),
            calendar_post(store, **no_lunch, extra_holidays="2026-03-13\n2026-05-04"),
            follow=True,
        )
    assert "The deadlines of 1 open case are being recalculated." in " ".join(flashed(response))
    store.refresh_from_db()
    assert store.weekly_hours["0"] == [["09:00", "18:00"]]
    assert store.extra_holidays == ["2026-03-13", "2026-05-04"]
    assert clock(case, T.RESOLUTION).due_at == at("2026-03-11 17:00")
    assert AuditLog.objects.filter(action="calendar.changed", actor=owner).count() == 1


def test_calendar_messages_land_on_the_right_field(owner_client):
    store = calendar("门店", use_chinese_holidays=False)
    response = owner_client.post(url("edit", "calendars", store.pk), calendar_post(
        store, day_0="09:00-12:00, 11:00-13:00", day_2="morning", extra_workdays="2026-02-30",
        time_zone="Mars/Olympus",
    ))  # fmt: skip
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["day_2"] == ["Write the working hours as 09:00-12:00, 13:30-18:00."]
    # The form's own check failed, so the service's (overlap, dates, zone) comes on a retry.
    response = owner_client.post(url("edit", "calendars", store.pk), calendar_post(
        store, day_0="09:00-12:00, 11:00-13:00", extra_workdays="2026-02-30",
        time_zone="Mars/Olympus",
    ))  # fmt: skip
    errors = response.context["form"].errors
    assert "overlap" in errors["day_0"][0]
    assert errors["extra_workdays"] == ["2026-02-30 is not a date (YYYY-MM-DD)."]
    assert errors["time_zone"] == ["Unknown time zone: Mars/Olympus."]
    store.refresh_from_db()
    assert store.time_zone == "Asia/Shanghai"


def test_a_new_calendar_from_the_form(owner_client):
    page = owner_client.get(url("new", "calendars"))
    assert page.context["form"].initial["day_4"] == "09:00-12:00, 13:30-18:00"
    response = owner_client.post(url("new", "calendars"), {
        "name": "客服中心", "time_zone": "Asia/Shanghai", "use_chinese_holidays": "on",
        **{f"day_{day}": "08:30-12:00, 13:00-17:30" for day in range(6)},
    })  # fmt: skip
    assert response.status_code == 302
    row = BusinessCalendar.objects.get(name="客服中心")
    assert sorted(row.weekly_hours) == ["0", "1", "2", "3", "4", "5"]
    assert row.weekly_hours["5"] == [["08:30", "12:00"], ["13:00", "17:30"]]


times = st.integers(min_value=0, max_value=24 * 60)


@given(st.lists(times, min_size=0, max_size=8, unique=True))
def test_working_hours_text_round_trips(points):
    """Whatever intervals the service stores, the form shows them so that they read back."""
    points = sorted(points)[: len(points) // 2 * 2]
    intervals = [
        [f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"]
        for a, b in zip(points[::2], points[1::2], strict=True)
    ]
    assert parse_hours(hours_text(intervals)) == intervals
