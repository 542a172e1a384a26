"""Case metrics against hand-computed numbers (the world of ``metrics_helpers``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxloop.cases import lifecycle, selectors, services
from cxloop.cases.models import Case, CaseTarget
from cxloop.cases.tests.metrics_helpers import MARCH, build_world, local, mar, open_case, sla_rules

pytestmark = pytest.mark.django_db
LATER = local(2025, 4, 1, 9)  # long after every deadline of the world


@pytest.fixture
def world(categories, teammate, handler):
    handler.first_name = "海"
    handler.save(update_fields=["first_name"])
    return build_world(categories, teammate, handler)


def table(metric, group_by=None, **kwargs):
    """The metric over March 2025 (the world's month) unless another window is given: rows a
    module-scoped demo elsewhere in the session may have left lie outside it."""
    window = dict(zip(("start", "end"), MARCH, strict=True))
    return selectors.metric_table(metric=metric, group_by=group_by, **{**window, **kwargs})


def by_group(result) -> dict:
    return {row.group: (row.value, row.count, row.n) for row in result.rows if row.target is None}


# --- first-contact resolution ------------------------------------------------------------


def test_fcr_overall_and_by_department(world):
    result = table("fcr", "department")
    assert (result.overall[0].value, result.overall[0].count, result.overall[0].n) == (40.0, 2, 5)
    assert by_group(result) == {"cs-test": (50.0, 1, 2), "logistics-test": (33.3, 1, 3)}
    assert result.unit == "percent" and result.group_by == "department"
    assert [row.label for row in result.rows] == ["客服中心", "物流部"]


def test_fcr_by_owner_channel_category_region_month(world):
    # F has no reply: whoever resolves an unowned case owns it (the handler)
    assert by_group(table("fcr", "owner")) == {"teammate": (50.0, 1, 2), "handler": (33.3, 1, 3)}
    labels = [(row.group, row.label) for row in table("fcr", "owner").rows]
    assert labels == [("teammate", "teammate"), ("handler", "海")]  # by label
    assert by_group(table("fcr", "channel")) == {
        "hotline": (33.3, 1, 3), "chat": (0.0, 0, 1), "app": (100.0, 1, 1),
    }  # fmt: skip
    assert by_group(table("fcr", "category")) == {
        "product-test": (50.0, 1, 2), "logistics-test": (33.3, 1, 3),
    }  # fmt: skip
    assert by_group(table("fcr", "region")) == {"华东": (33.3, 1, 3), "华南": (50.0, 1, 2)}
    assert by_group(table("fcr", "month")) == {"2025-03": (40.0, 2, 5)}


def test_fcr_reopen_within_seven_days_only(world):
    """C reopened after 2 days: not FCR. Moving D's reopen to day 6 makes it not FCR either."""
    from cxloop.cases.models import CaseEvent

    d = world["D"]
    CaseEvent.objects.filter(case=d, kind=CaseEvent.Kind.REOPENED).update(at=mar(9, 15))
    assert table("fcr").overall[0].count == 1


def test_fcr_needs_exactly_one_reply(world):
    """F was resolved without a reply: in the denominator, not an FCR case."""
    f = world["F"]
    assert f.agent_response_count == 0 and f.resolved_at is not None
    Case.objects.filter(pk=f.pk).update(agent_response_count=1)  # as if it had one reply
    assert table("fcr").overall[0].count == 3


# --- repeats and complaint rate ----------------------------------------------------------


def test_repeat_rate(world):
    result = table("repeat_rate", "department")
    assert (result.overall[0].value, result.overall[0].count, result.overall[0].n) == (33.3, 2, 6)
    assert by_group(result) == {"cs-test": (33.3, 1, 3), "logistics-test": (33.3, 1, 3)}


def test_complaint_rate_per_thousand_orders(world):
    start, end = MARCH
    result = table("complaint_rate", "region", start=start, end=end)
    overall = result.overall[0]
    assert (overall.value, overall.count, overall.n) == (666.67, 6, 9)
    assert by_group(result) == {"华东": (500.0, 4, 8), "华南": (2000.0, 2, 1)}
    assert result.unit == "per_1000_orders"
    departments = table("complaint_rate", "department", start=start, end=end)
    assert by_group(departments) == {"cs-test": (333.33, 3, 9), "logistics-test": (333.33, 3, 9)}


def test_complaint_rate_by_month_counts_months_without_cases(world):
    result = table("complaint_rate", "month", start=local(2025, 2, 1, 0))
    assert result.overall[0].value == 600.0  # 6 cases, 10 orders
    assert by_group(result) == {"2025-02": (0.0, 0, 1), "2025-03": (666.67, 6, 9)}
    assert [row.group for row in result.rows] == ["2025-02", "2025-03"]


# --- working times -----------------------------------------------------------------------


def test_first_response_time_in_working_seconds(world):
    result = table("first_response_time", "department")
    assert (result.overall[0].value, result.overall[0].n) == (2400.0, 5)
    assert by_group(result) == {"cs-test": (1000.0, 3, 3), "logistics-test": (4500.0, 2, 2)}
    assert result.unit == "working_seconds"


def test_resolution_time_counts_each_resolution(world):
    result = table("resolution_time", "department")
    assert (result.overall[0].value, result.overall[0].n) == (13000.0, 6)
    # service: A 12,600 + B 24,000; logistics: C 23,400 + D 7,200 + 7,200 + F 3,600
    assert by_group(result) == {"cs-test": (18300.0, 2, 2), "logistics-test": (10350.0, 4, 4)}


def test_waiting_on_the_customer_is_left_out(categories, teammate):
    sla_rules()
    case = open_case(categories["product"], channel="hotline", region="华东", at=mar(3, 9))
    lifecycle.reply(case=case, actor=teammate, body="您好", now=mar(3, 9, 30))
    lifecycle.wait_on_customer(case=case, actor=teammate, now=mar(3, 10))
    lifecycle.resume(case=case, actor=teammate, now=mar(3, 15))  # 2 h + 1.5 h paused
    lifecycle.resolve(case=case, actor=teammate, resolution="好了", now=mar(3, 16))
    # 09:00–16:00 is 5.5 working hours, 3.5 of them waiting: 2 h of work
    assert table("resolution_time").overall[0].value == 7200.0


# --- SLA compliance ----------------------------------------------------------------------


def test_sla_compliance_per_target(world):
    result = table("sla_compliance", now=LATER)
    rows = {row.target: (row.value, row.count, row.n) for row in result.overall}
    # first response: C met late, F never met and overdue; resolution: C's second cycle and
    # E still running past their deadlines
    assert rows == {
        None: (71.4, 10, 14), "first_response": (66.7, 4, 6), "resolution": (75.0, 6, 8),
    }  # fmt: skip
    assert [row.target for row in result.overall] == [None, "first_response", "resolution"]


def test_sla_compliance_by_department_and_breach(world):
    result = table("sla_compliance", "department", now=LATER)
    rows = {(r.group, r.target): (r.value, r.count, r.n) for r in result.rows}
    assert rows[("cs-test", None)] == (83.3, 5, 6)
    assert rows[("cs-test", "resolution")] == (66.7, 2, 3)
    assert rows[("logistics-test", "first_response")] == (33.3, 1, 3)
    assert rows[("logistics-test", None)] == (62.5, 5, 8)
    # A running clock not yet due is not counted; a breach recorded by the sweep is late.
    early = table("sla_compliance", now=mar(3, 17, 30))
    assert {r.target: r.n for r in early.overall}["resolution"] == 6
    CaseTarget.objects.filter(case=world["E"], kind="resolution").update(breached_at=mar(3, 17))
    late = {r.target: r for r in table("sla_compliance", now=mar(3, 17, 30)).overall}
    assert (late["resolution"].count, late["resolution"].n) == (6, 7)


# --- backlog -----------------------------------------------------------------------------


def test_backlog_by_age(categories, teammate):
    sla_rules()
    now = mar(20, 12)
    for age in (dt.timedelta(hours=2), dt.timedelta(days=2), dt.timedelta(days=5)):
        open_case(categories["product"], channel="hotline", region="华东", at=now - age)
    old = open_case(categories["logistics"], channel="chat", region="华南", at=mar(10, 12))
    lifecycle.reply(case=old, actor=teammate, body="您好", now=mar(10, 13))
    solved = open_case(categories["product"], channel="hotline", region="华东", at=mar(19, 9))
    lifecycle.resolve(case=solved, actor=teammate, resolution="好了", now=mar(19, 10))
    result = table("backlog", "department", now=now)
    overall = result.overall[0]
    assert overall.n == 4 and overall.buckets == {"lt_1d": 1, "1_3d": 1, "3_7d": 1, "gt_7d": 1}
    assert overall.value == (2 + 48 + 120 + 240) * 3600 / 4  # mean age in seconds
    rows = {row.group: (row.n, row.value, row.buckets["gt_7d"]) for row in result.rows}
    assert rows == {"cs-test": (3, (2 + 48 + 120) * 3600 / 3, 0), "logistics-test": (1, 864_000, 1)}
    assert result.unit == "seconds"


# --- scope, empty ranges, bad input ------------------------------------------------------


def test_empty_range_gives_empty_rows(world):
    start, end = local(2030, 1, 1), local(2030, 2, 1)
    for metric in selectors.METRICS:
        for group_by in (None, *selectors.GROUP_BY):
            result = table(metric, group_by, start=start, end=end, now=LATER)
            assert result.overall[0].value is None and result.overall[0].count == 0
            if metric != "complaint_rate":  # by region/month its rows are the orders' groups
                assert result.rows == []


def test_merged_duplicates_are_left_out(categories, teammate):
    sla_rules()
    first = open_case(categories["product"], channel="hotline", region="华东", at=mar(3, 9))
    second = open_case(categories["product"], channel="hotline", region="华东", at=mar(3, 9, 5))
    services.merge_cases(duplicate=second, survivor=first, actor=teammate, now=mar(3, 9, 10))
    assert table("repeat_rate").overall[0].n == 1
    assert table("backlog", now=mar(3, 10)).overall[0].n == 1


def test_handler_scope_is_their_departments(world, handler, teammate, analyst):
    ids = [case.pk for case in world.values()]
    assert selectors.metric_scope(teammate).filter(pk__in=ids).count() == 6  # every case
    assert selectors.metric_scope(analyst).filter(pk__in=ids).count() == 6
    assert selectors.metric_scope(handler).filter(pk__in=ids).count() == 3
    own = table("repeat_rate", "department", cases=selectors.metric_scope(handler))
    assert own.overall[0].n == 3 and [row.group for row in own.rows] == ["logistics-test"]


def test_metrics_only_role_counts_every_case(world, django_user_model):
    from django.contrib.auth.models import Group

    from cxloop.core import roles

    viewer = django_user_model.objects.create_user(username="viewer")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    ids = [case.pk for case in world.values()]
    assert selectors.metric_scope(viewer).filter(pk__in=ids).count() == 6


def test_cases_without_a_group_fall_in_none(world):
    open_case(None, channel="email", region="", at=mar(6, 10))
    rows = {row.group: row.label for row in table("repeat_rate", "department").rows}
    assert rows == {"cs-test": "客服中心", "logistics-test": "物流部", "": "(none)"}
    assert list(rows)[-1] == ""  # "(none)" comes last
    assert {row.group for row in table("repeat_rate", "region").rows} == {"华东", "华南", ""}


def test_unknown_metric_or_group(world):
    with pytest.raises(ValueError, match="metric"):
        table("happiness")
    with pytest.raises(ValueError, match="group_by"):
        table("fcr", "phone")


def test_one_query_per_part_whatever_the_number_of_cases(world, categories):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            for metric in selectors.METRICS:
                table(metric, "department", now=LATER)
        return len(captured)

    before = queries()
    for hour in range(9, 17):
        open_case(categories["product"], channel="hotline", region="华东", at=mar(6, hour))
    assert queries() == before


def test_headline_is_the_overall_rows(world):
    found = selectors.headline(now=LATER)
    assert found["fcr"].value == 40.0 and found["sla_compliance"].target is None
    assert set(found) == set(selectors.METRICS)
