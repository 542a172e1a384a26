"""The read side of the agent console: queue scopes, filters from the query string, clocks,
the words of a countdown, SLA clock states, the timeline summaries and the customer panel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404, QueryDict
from django.utils import timezone

from cxloop.cases import queues
from cxloop.cases.models import Case, CaseEvent, CaseTarget
from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2025, 3, 3, 2, 0, tzinfo=dt.UTC)


def test_filters_from_ignores_what_is_not_a_choice():
    params = QueryDict(
        "q=+%E5%BF%AB%E9%80%92+&status=nope&severity=urgent&channel=fax&category=abc"
        "&department=7&owner=; drop&major=1&repeat=yes&sla=breached"
    )
    filters = queues.filters_from(params)
    assert filters.q == "快递" and filters.severity == "urgent" and filters.status == ""
    assert filters.channel == "" and filters.category is None and filters.department == 7
    assert filters.owner == "" and filters.major and not filters.repeat
    assert filters.sla == "breached" and filters.active
    assert not queues.filters_from(QueryDict("")).active
    assert queues.filters_from(QueryDict("owner=none")).owner == "none"


def test_queues_for_roles(teammate, handler, analyst):
    assert list(queues.queues_for(teammate)) == ["mine", "team", "unassigned", "all"]
    assert list(queues.queues_for(handler)) == ["mine", "team", "unassigned"]
    assert "all" in queues.queues_for(analyst)


def test_queue_scopes(make_case, owner, teammate, handler, categories):
    service = make_case(actor=owner)
    logistics = make_case(actor=owner, category=categories["logistics"])
    taken = make_case(actor=owner)
    Case.objects.filter(pk=taken.pk).update(owner=teammate, status=Case.Status.ASSIGNED)
    done = make_case(actor=owner)
    Case.objects.filter(pk=done.pk).update(status=Case.Status.CLOSED)

    def scope(user, name, **filters):
        found = queues.queue_cases(user=user, queue=name, filters=queues.CaseFilters(**filters))
        return set(found)

    assert scope(teammate, "mine") == {refresh(taken)}
    assert scope(teammate, "team") == {service, logistics, refresh(taken)}
    assert scope(teammate, "unassigned") == {service, logistics}
    assert scope(teammate, "all") == {service, logistics, refresh(taken), refresh(done)}
    assert scope(teammate, "team", status="closed") == {refresh(done)}
    assert scope(handler, "team") == {logistics}
    assert scope(handler, "unassigned") == {logistics}
    with pytest.raises(Http404):
        scope(teammate, "everything")
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        scope(handler, "all")


def refresh(case):
    return Case.objects.get(pk=case.pk)


def test_queue_of_someone_without_the_permission_is_empty(make_case, owner, outsider):
    make_case(actor=owner)
    assert not queues.queue_cases(user=outsider, queue="mine", filters=queues.CaseFilters())


@pytest.mark.parametrize(
    "seconds, words",
    [
        (59, "in 0 min"),
        (60 * 42, "in 42 min"),
        (3600 + 5 * 60, "in 1 h 05 min"),
        (-(2 * 86400 + 3 * 3600 + 120), "overdue by 2 d 3 h"),
        (-90 * 60, "overdue by 1 h 30 min"),
    ],
)
def test_duration_words(seconds, words):
    assert queues.duration_words(seconds) == words


def test_clock():
    assert queues.clock(None, NOW) == queues.Clock(None, False, "")
    late = queues.clock(NOW - dt.timedelta(minutes=5), NOW)
    assert late.overdue and late.left == "overdue by 5 min"
    assert not queues.clock(NOW + dt.timedelta(hours=2), NOW).overdue


def test_countdown_words_carry_the_placeholders_the_js_fills():
    words = queues.countdown_words()
    assert set(words) == {"in", "overdue", "days", "hours", "minutes"}
    assert "%(amount)s" in words["in"] and "%(m)02d" in words["hours"]


def _target(case, kind, **fields):
    base = {"started_at": NOW - dt.timedelta(hours=1), "due_at": NOW + dt.timedelta(hours=1)}
    return CaseTarget.objects.create(case=case, kind=kind, **(base | fields))


def test_target_states(make_case, owner):
    case = make_case(actor=owner)
    case.targets.all().delete()
    _target(case, "first_response", met_at=NOW - dt.timedelta(minutes=30))
    _target(case, "resolution", due_at=NOW - dt.timedelta(minutes=1))
    _target(case, "progress_update", warn_at=NOW - dt.timedelta(minutes=1))
    _target(case, "callback")
    _target(case, "escalation_answer", met_at=NOW, due_at=NOW - dt.timedelta(minutes=1))
    states = {row.target.kind: row.state for row in queues.target_rows(case, now=NOW)}
    assert states == {
        "first_response": "met", "resolution": "breached", "progress_update": "at_risk",
        "callback": "running", "escalation_answer": "met_late",
    }  # fmt: skip
    rows = {row.target.kind: row for row in queues.target_rows(case, now=NOW)}
    assert rows["first_response"].clock.due_at is None  # a met clock has no countdown
    assert rows["resolution"].clock.overdue
    case.status = Case.Status.WAITING
    assert queues._target_state(rows["callback"].target, case, NOW) == "paused"
    case.status = Case.Status.CLOSED
    assert queues._target_state(rows["callback"].target, case, NOW) == "stopped"


def test_timeline_summaries_mask_contact_changes(make_case, owner, teammate, analyst, departments):
    case = make_case(actor=owner)
    after = {"owner": teammate.pk, "department": departments["service"].pk}
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.ASSIGNED, data={"before": {"owner": None}, "after": after}
    )
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.UPDATED,
        data={"before": {"contact_phone": "13800001234", "amount_fen": 0},
              "after": {"contact_phone": "13900005678", "amount_fen": 12850}},
    )  # fmt: skip
    summaries = [entry.summary for entry in queues.timeline(case, user=analyst)]
    assert "Owner: teammate · department: 客服中心" in summaries
    changed = next(s for s in summaries if "Contact phone" in s)
    assert "138****1234 → 139****5678" in changed and "¥0.00 → ¥128.50" in changed
    full = [entry.summary for entry in queues.timeline(case, user=teammate)]
    assert any("13800001234 → 13900005678" in s for s in full)


def test_customer_panel_follows_permissions(make_case, owner, teammate, handler, categories):
    zhang = Customer.objects.create(external_id="C7001", name="张伟", phone="13912345678")
    Order.objects.create(customer=zhang, external_id="SO-1", amount_fen=100, placed_at=NOW)
    other = make_case(actor=owner, customer=zhang, category=categories["product"])
    case = make_case(actor=owner, customer=zhang, category=categories["logistics"],
                     contact_name="", contact_phone="")  # fmt: skip
    panel = queues.customer_panel(case, user=teammate)
    assert panel["name"] == "张伟" and panel["phone"] == "13912345678"
    assert [o.external_id for o in panel["orders"]] == ["SO-1"]
    assert panel["other_cases"] == [other]
    handler_panel = queues.customer_panel(case, user=handler)
    assert handler_panel["phone"] == "139****5678"
    assert handler_panel["orders"] == []  # no order permission
    assert handler_panel["other_cases"] == []  # the other case is another department's


def test_queue_rows_mask_for_masked_roles(make_case, owner, analyst):
    case = make_case(actor=owner)
    (row,) = queues.queue_rows([case], user=analyst, now=timezone.now())
    assert row.phone == "138****1234" and row.customer_name == "王女士"
