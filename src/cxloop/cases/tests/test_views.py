"""The agent console through the real views: permissions, queues with filters and sort order,
bulk assign, the new-case form, every action on the case page, masking and escaping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cxloop.cases.models import Case, CaseEvent, CaseTarget, Solution
from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.django_db
PHONE = "13800001234"
MASKED = "138****1234"


def queue_url(name="mine") -> str:
    return reverse("cases:queue", args=[name])


def detail_url(case) -> str:
    return reverse("cases:detail", args=[case.pk])


def act_url(case, action) -> str:
    return reverse("cases:act", args=[case.pk, action])


def numbers(response) -> list[str]:
    return [row.case.number for row in response.context["rows"]]


def refresh(case) -> Case:
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def service_case(make_case, owner):
    return make_case(actor=owner, subject="咖啡机漏水")


@pytest.fixture
def logistics_case(make_case, categories, owner):
    return make_case(actor=owner, subject="快递丢件", category=categories["logistics"])


# --- permissions ----------------------------------------------------------------------------


def test_anonymous_goes_to_login(client, service_case):
    for url in (reverse("cases:home"), queue_url("team"), detail_url(service_case)):
        assert client.get(url).status_code == 302
    assert client.post(act_url(service_case, "note"), {"note-body": "x"}).status_code == 302
    assert client.get(reverse("cases:new")).status_code == 302


def test_outsider_is_refused(outsider_client, service_case):
    assert outsider_client.get(queue_url()).status_code == 403
    assert outsider_client.get(detail_url(service_case)).status_code == 403
    response = outsider_client.post(act_url(service_case, "note"), {"note-body": "x"})
    assert response.status_code == 403
    assert outsider_client.get(reverse("cases:new")).status_code == 403
    assert not service_case.events.filter(kind=CaseEvent.Kind.NOTE).exists()


def test_handler_sees_only_the_logistics_cases(handler_client, service_case, logistics_case):
    response = handler_client.get(queue_url("team"))
    assert numbers(response) == [logistics_case.number]
    assert service_case.number not in response.content.decode()
    assert handler_client.get(queue_url("unassigned")).context["rows"][0].case == logistics_case
    assert handler_client.get(detail_url(service_case)).status_code == 404
    assert handler_client.get(detail_url(logistics_case)).status_code == 200


def test_handler_cannot_act_on_a_foreign_case(handler_client, service_case, logistics_case):
    for action, data in [("note", {"note-body": "x"}), ("reply", {"reply-body": "x"})]:
        assert handler_client.post(act_url(service_case, action), data).status_code == 404
    assert not service_case.events.filter(kind__in=["note", "response"]).exists()
    ok = handler_client.post(act_url(logistics_case, "note"), {"note-body": "已联系快递"})
    assert ok.status_code == 302


def test_handler_has_no_all_cases_queue(handler_client, service_case):
    assert handler_client.get(queue_url("all")).status_code == 403
    assert handler_client.get(queue_url("nonsense")).status_code == 404


def test_analyst_reads_but_cannot_act(analyst_client, service_case):
    assert analyst_client.get(queue_url("all")).status_code == 200
    page = analyst_client.get(detail_url(service_case))
    assert page.status_code == 200
    assert page.context["forms"] == {}
    assert 'action="' + act_url(service_case, "reply") not in page.content.decode()
    for action, data in [("reply", {"reply-body": "x"}), ("edit", {"edit-severity": "urgent"})]:
        assert analyst_client.post(act_url(service_case, action), data).status_code == 403
    assert analyst_client.get(reverse("cases:new")).status_code == 403
    assert refresh(service_case).status == Case.Status.NEW


def test_actions_are_post_only(teammate_client, service_case):
    assert teammate_client.get(act_url(service_case, "note")).status_code == 405
    assert teammate_client.post(act_url(service_case, "explode"), {}).status_code == 404


def test_nav_links_to_the_queues(teammate_client, analyst_client, handler_client):
    html = teammate_client.get(queue_url()).content.decode()
    for url in (queue_url("mine"), queue_url("team"), queue_url("unassigned"), queue_url("all")):
        assert f'href="{url}"' in html
    assert f'href="{reverse("cases:new")}"' in html
    assert f'href="{reverse("cases:new")}"' not in analyst_client.get(queue_url()).content.decode()
    handler_html = handler_client.get(queue_url()).content.decode()
    assert f'href="{queue_url("all")}"' not in handler_html


# --- queues: scope, sort, filters -----------------------------------------------------------


def test_my_queue_holds_my_open_cases(teammate_client, teammate, make_case, owner):
    mine = make_case(actor=owner)
    Case.objects.filter(pk=mine.pk).update(owner=teammate)
    make_case(actor=owner)  # nobody's
    closed = make_case(actor=owner)
    Case.objects.filter(pk=closed.pk).update(owner=teammate, status=Case.Status.CLOSED)
    assert numbers(teammate_client.get(reverse("cases:home"))) == [mine.number]
    all_numbers = numbers(teammate_client.get(queue_url("all")))
    assert closed.number in all_numbers and len(all_numbers) == 3


def test_sorted_by_nearest_deadline_with_none_last(teammate_client, make_case, owner):
    now = timezone.now()
    late, soon, never, overdue = (make_case(actor=owner) for _ in range(4))
    for case, due in [(late, now + dt.timedelta(hours=5)), (soon, now + dt.timedelta(hours=1)),
                      (never, None), (overdue, now - dt.timedelta(hours=2))]:  # fmt: skip
        Case.objects.filter(pk=case.pk).update(next_due_at=due)
    got = numbers(teammate_client.get(queue_url("team")))
    assert got == [overdue.number, soon.number, late.number, never.number]


def test_due_time_in_shanghai_with_countdown_and_overdue_in_red(teammate_client, make_case, owner):
    case, past = make_case(actor=owner), make_case(actor=owner)
    Case.objects.filter(pk=case.pk).update(next_due_at=dt.datetime(2099, 1, 1, 2, 0, tzinfo=dt.UTC))
    Case.objects.filter(pk=past.pk).update(next_due_at=timezone.now() - dt.timedelta(minutes=90))
    html = teammate_client.get(queue_url("team")).content.decode()
    assert 'data-due="2099-01-01T10:00:00+08:00"' in html
    assert "2099-01-01 10:00" in html
    assert 'class="case-due overdue"' in html
    assert "overdue by 1 h 30 min" in html or "overdue by 1 h 29 min" in html
    assert "cases/cases.js" in html and 'id="case-countdown-words"' in html


@pytest.fixture
def spread(make_case, categories, departments, owner, teammate):
    """Four cases that differ in one filterable way each."""
    # Different phones: the same customer and category within 30 days would be a repeat.
    urgent = make_case(
        actor=owner, severity="urgent", channel="chat", subject="屏幕碎了",
        contact_phone="13800001111",
    )  # fmt: skip
    major = make_case(
        actor=owner, amount_fen=2_000_000, subject="退款两万", contact_phone="13800002222"
    )
    logistics = make_case(
        actor=owner, category=categories["logistics"], subject="包裹破损",
        contact_phone="13800003333",
    )  # fmt: skip
    repeat = make_case(actor=owner, subject="又坏了", contact_phone="13800004444")
    Case.objects.filter(pk=repeat.pk).update(repeat_of=urgent, owner=teammate)
    return {"urgent": urgent, "major": major, "logistics": logistics, "repeat": repeat}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"severity": "urgent"}, {"urgent", "major"}),  # the emergency procedure: urgent
        ({"channel": "chat"}, {"urgent"}),
        ({"major": "1"}, {"major"}),
        ({"repeat": "1"}, {"repeat"}),
        ({"owner": "none"}, {"urgent", "logistics"}),  # a major complaint gets a manager
        ({"q": "包裹"}, {"logistics"}),
        ({"severity": "nonsense"}, {"urgent", "major", "logistics", "repeat"}),
    ],
)
def test_filters(owner_client, spread, params, expected):
    got = set(numbers(owner_client.get(queue_url("team"), params)))
    assert got == {spread[name].number for name in expected}


def test_filter_by_category_department_owner_status(owner_client, spread, categories, teammate):
    def names(params):
        found = set(numbers(owner_client.get(queue_url("all"), params)))
        return {name for name, case in spread.items() if case.number in found}

    logistics = spread["logistics"]
    assert names({"category": categories["logistics"].pk}) == {"logistics"}
    assert names({"department": logistics.department_id}) == {"logistics"}
    assert names({"owner": teammate.pk}) == {"repeat"}
    Case.objects.filter(pk=logistics.pk).update(status=Case.Status.CLOSED)
    assert names({"status": "closed"}) == {"logistics"}
    assert "logistics" not in {
        name
        for name, case in spread.items()
        if case.number in numbers(owner_client.get(queue_url("team")))
    }


def test_filter_breached_and_at_risk(owner_client, spread):
    now = timezone.now()
    CaseTarget.objects.all().delete()
    hour, minute = dt.timedelta(hours=1), dt.timedelta(minutes=1)
    clocks = {
        "urgent": (now - 5 * minute, None),  # past due: breached
        "major": (now + hour, now - minute),  # past the warning: at risk
        "logistics": (now + 9 * hour, now + 8 * hour),  # fine
    }
    for name, (due, warn) in clocks.items():
        CaseTarget.objects.create(
            case=spread[name], kind="resolution", started_at=now - dt.timedelta(hours=1),
            due_at=due, warn_at=warn,
        )  # fmt: skip
    breached = numbers(owner_client.get(queue_url("team"), {"sla": "breached"}))
    assert breached == [spread["urgent"].number]
    at_risk = numbers(owner_client.get(queue_url("team"), {"sla": "at_risk"}))
    assert at_risk == [spread["major"].number]


def test_search_by_number_customer_name_and_phone(
    teammate_client, analyst_client, make_case, owner
):
    zhang = Customer.objects.create(external_id="C9001", name="张伟", phone="13955556666")
    theirs = make_case(actor=owner, customer=zhang, contact_name="", contact_phone="")
    other = make_case(actor=owner)
    assert numbers(teammate_client.get(queue_url("all"), {"q": theirs.number})) == [theirs.number]
    assert numbers(teammate_client.get(queue_url("all"), {"q": "张伟"})) == [theirs.number]
    assert numbers(teammate_client.get(queue_url("all"), {"q": "6666"})) == [theirs.number]
    assert numbers(teammate_client.get(queue_url("all"), {"q": "1234"})) == [other.number]
    # Masked roles find a case only with the whole number, never by a part of it.
    assert numbers(analyst_client.get(queue_url("all"), {"q": "139 5555 6666"})) == [theirs.number]
    assert numbers(analyst_client.get(queue_url("all"), {"q": "6666"})) == []


def test_htmx_refreshes_only_the_list(teammate_client, service_case):
    response = teammate_client.get(
        queue_url("team"), {"q": "咖啡"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-results"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="case-results"')
    assert service_case.number in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_pagination(teammate_client, make_case, owner, monkeypatch):
    from cxloop.cases import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for _ in range(3):
        make_case(actor=owner)
    first = teammate_client.get(queue_url("team"))
    assert len(first.context["rows"]) == 2 and "Page 1 of 2" in first.content.decode()
    assert len(teammate_client.get(queue_url("team"), {"page": "2"}).context["rows"]) == 1


def test_queue_masks_phone_for_analyst(analyst_client, teammate_client, service_case):
    assert MASKED in analyst_client.get(queue_url("all")).content.decode()
    assert PHONE not in analyst_client.get(queue_url("all")).content.decode()
    assert PHONE in teammate_client.get(queue_url("all")).content.decode()


# --- bulk assign ----------------------------------------------------------------------------


def test_bulk_assign(owner_client, teammate, make_case, owner):
    first, second, untouched = (make_case(actor=owner) for _ in range(3))
    page = owner_client.get(queue_url("team")).content.decode()
    assert reverse("cases:bulk_assign") in page and 'name="cases"' in page
    response = owner_client.post(
        reverse("cases:bulk_assign"),
        {"cases": [first.pk, second.pk], "owner": teammate.pk, "next": queue_url("team")},
    )
    assert response.status_code == 302 and response["Location"] == queue_url("team")
    assert {refresh(first).owner, refresh(second).owner} == {teammate}
    assert refresh(untouched).owner is None
    assert refresh(first).events.filter(kind=CaseEvent.Kind.ASSIGNED).exists()


def test_bulk_assign_needs_the_assign_permission(
    teammate_client, handler_client, teammate, make_case, owner
):
    case = make_case(actor=owner)
    assert 'name="cases"' not in teammate_client.get(queue_url("team")).content.decode()
    for client in (teammate_client, handler_client):
        response = client.post(
            reverse("cases:bulk_assign"), {"cases": [case.pk], "owner": teammate.pk}
        )
        assert response.status_code == 403
    assert refresh(case).owner is None


def test_bulk_assign_ignores_foreign_next_and_reports_bad_input(
    owner_client, teammate, service_case
):
    response = owner_client.post(
        reverse("cases:bulk_assign"), {"cases": [service_case.pk], "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("cases:home")
    assert refresh(service_case).owner is None


# --- new case -------------------------------------------------------------------------------

NEW = {
    "channel": "hotline", "customer_ref": "", "contact_name": "王女士", "contact_phone": PHONE,
    "contact_email": "", "category": "", "severity": "important", "subject": "门店态度差",
    "description": "店员不理人。", "amount": "128.50", "region": "华东", "store": "徐汇店",
    "order_ref": "SO-1",
}  # fmt: skip


def test_new_case_form_opens_a_case(teammate_client, teammate, categories):
    form = teammate_client.get(reverse("cases:new"))
    assert form.status_code == 200 and 'name="customer_ref"' in form.content.decode()
    data = NEW | {"category": categories["product"].pk}
    response = teammate_client.post(reverse("cases:new"), data)
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(case)
    assert case.amount_fen == 12850 and case.severity == "important"
    assert case.category == categories["product"] and case.created_by == teammate
    assert case.store == "徐汇店" and case.order_ref == "SO-1"


def test_new_case_finds_the_customer_by_number_or_phone(teammate_client, categories):
    zhang = Customer.objects.create(external_id="C9002", name="张伟", phone="13912345678")
    teammate_client.post(reverse("cases:new"), NEW | {"customer_ref": "C9002"})
    teammate_client.post(reverse("cases:new"), NEW | {"customer_ref": "139-1234-5678"})
    assert list(Case.objects.values_list("customer", flat=True)) == [zhang.pk, zhang.pk]


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"customer_ref": "C-nobody"}, "customer_ref", "No customer with this"),
        ({"amount": "12.345"}, "amount", "Enter an amount in yuan"),
        ({"contact_phone": "12345"}, "contact_phone", "Not a valid mobile number"),
        ({"channel": "fax"}, "channel", "Select a valid choice"),
        ({"subject": "", "description": "", "contact_name": "", "contact_phone": ""},
         "contact_phone", "at least a name, phone or email"),
    ],
)  # fmt: skip
def test_new_case_bad_input_re_renders_with_the_message(
    teammate_client, categories, changes, field, message
):
    response = teammate_client.post(reverse("cases:new"), NEW | changes)
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert message in response.content.decode()
    assert 'value="王女士"' in response.content.decode() or "contact_name" in changes
    assert not Case.objects.exists()


def test_new_case_needs_add_permission(handler_client):
    assert handler_client.get(reverse("cases:new")).status_code == 403
    assert handler_client.post(reverse("cases:new"), NEW).status_code == 403


# --- the case page --------------------------------------------------------------------------


def test_case_page_shows_the_three_fixes_clocks_and_timeline(teammate_client, service_case):
    service_case.targets.all().delete()
    start = dt.datetime(2099, 1, 1, 1, 0, tzinfo=dt.UTC)
    CaseTarget.objects.create(
        case=service_case, kind="first_response", started_at=start,
        due_at=start + dt.timedelta(minutes=15), met_at=start + dt.timedelta(minutes=5),
    )  # fmt: skip
    CaseTarget.objects.create(
        case=service_case,
        kind="resolution",
        started_at=start,
        due_at=start + dt.timedelta(hours=24),
    )
    html = teammate_client.get(detail_url(service_case)).content.decode()
    assert service_case.number in html and "Unassigned" in html
    assert "Verification (callback)" in html and "After resolution" in html
    assert "First response" in html and "2099-01-01 09:15" in html and ">Met<" in html
    assert "Resolution" in html and 'data-due="2099-01-02T09:00:00+08:00"' in html
    assert ">Running<" in html
    assert "Created" in html and "visible to customer" in html


def test_case_page_masks_pii_for_roles_without_it(analyst_client, teammate_client, service_case):
    masked = analyst_client.get(detail_url(service_case)).content.decode()
    assert PHONE not in masked and MASKED in masked
    assert "masked for your role" in masked
    assert PHONE in teammate_client.get(detail_url(service_case)).content.decode()


def test_handler_edit_form_has_no_contact_fields(handler_client, logistics_case):
    page = handler_client.get(detail_url(logistics_case))
    assert "contact_phone" not in page.context["forms"]["edit"].fields
    assert PHONE not in page.content.decode()


def test_description_and_replies_are_escaped(teammate_client, make_case, owner):
    case = make_case(actor=owner, description="<script>alert('x')</script>", subject="<b>hi</b>")
    teammate_client.post(act_url(case, "note"), {"note-body": "<img src=x onerror=alert(1)>"})
    html = teammate_client.get(detail_url(case)).content.decode()
    assert "<script>alert(" not in html and "&lt;script&gt;alert(" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<b>hi</b>" not in html


def test_customer_profile_beside_the_case(teammate_client, analyst_client, make_case, owner):
    zhang = Customer.objects.create(external_id="C9003", name="张伟", phone="13912345678")
    Order.objects.create(
        customer=zhang, external_id="SO-778", amount_fen=9900, placed_at=timezone.now()
    )
    earlier = make_case(actor=owner, customer=zhang, subject="上次的问题")
    case = make_case(actor=owner, customer=zhang, contact_name="", contact_phone="")
    html = teammate_client.get(detail_url(case)).content.decode()
    assert "张伟" in html and "SO-778" in html and "¥99.00" in html
    assert earlier.number in html and reverse("customers:detail", args=[zhang.pk]) in html
    assert "13912345678" in html
    masked = analyst_client.get(detail_url(case)).content.decode()
    assert "13912345678" not in masked and "139****5678" in masked


# --- actions --------------------------------------------------------------------------------


def test_reply_meets_first_response_and_redirects(teammate_client, teammate, service_case):
    response = teammate_client.post(act_url(service_case, "reply"), {"reply-body": "您好，已处理"})
    assert response.status_code == 302 and response["Location"] == detail_url(service_case)
    case = refresh(service_case)
    assert case.status == Case.Status.RESPONDED and case.first_response_at is not None
    assert case.owner == teammate
    event = case.events.get(kind=CaseEvent.Kind.RESPONSE)
    assert event.body == "您好，已处理" and event.public
    assert "Reply sent." in teammate_client.get(detail_url(case)).content.decode()


def test_empty_reply_re_renders_with_the_message(teammate_client, service_case):
    response = teammate_client.post(act_url(service_case, "reply"), {"reply-body": "  "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert response.context["forms"]["reply"].errors
    assert refresh(service_case).status == Case.Status.NEW


def test_quick_replies_from_the_solution_library(teammate_client, service_case, categories):
    answer = Solution.objects.create(
        title="漏水处理", category=categories["product"], body="请拍照发给我们，我们马上换新。"
    )
    Solution.objects.create(title="物流话术", category=categories["logistics"], body="物流")
    page = teammate_client.get(detail_url(service_case))
    assert [s.title for s in page.context["solutions"]] == ["漏水处理"]
    assert 'data-body="请拍照发给我们，我们马上换新。"' in page.content.decode()
    # Without JavaScript: the select reloads the page with the answer in the reply box.
    filled = teammate_client.get(detail_url(service_case), {"solution": answer.pk})
    assert filled.context["forms"]["reply"].initial == {"body": answer.body, "solution": answer.pk}
    assert "\n请拍照发给我们，我们马上换新。</textarea>" in filled.content.decode()
    teammate_client.post(
        act_url(service_case, "reply"), {"reply-body": answer.body, "reply-solution": answer.pk}
    )
    assert Solution.objects.get(pk=answer.pk).uses == 1


def test_note_is_internal(teammate_client, service_case):
    teammate_client.post(act_url(service_case, "note"), {"note-body": "客户很着急"})
    note = service_case.events.get(kind=CaseEvent.Kind.NOTE)
    assert note.body == "客户很着急" and not note.public


def test_wait_and_resume(teammate_client, service_case):
    teammate_client.post(act_url(service_case, "wait"), {"wait-body": "等客户发照片"})
    assert refresh(service_case).status == Case.Status.WAITING
    page = teammate_client.get(detail_url(service_case))
    assert "resume" in page.context["forms"] and "wait" not in page.context["forms"]
    teammate_client.post(act_url(service_case, "resume"), {"resume-body": ""})
    assert refresh(service_case).status == Case.Status.ASSIGNED


def test_resolve_callback_close_and_reopen(teammate_client, service_case):
    bad = teammate_client.post(act_url(service_case, "resolve"), {"resolve-resolution": ""})
    assert bad.status_code == 200 and refresh(service_case).status == Case.Status.NEW
    teammate_client.post(act_url(service_case, "resolve"), {"resolve-resolution": "已换新"})
    case = refresh(service_case)
    assert case.status == Case.Status.RESOLVED and case.resolution == "已换新"
    assert "callback" in teammate_client.get(detail_url(case)).context["forms"]
    teammate_client.post(
        act_url(case, "callback"), {"callback-satisfied": "yes", "callback-note": "满意"}
    )
    assert refresh(case).status == Case.Status.CALLBACK_DONE
    teammate_client.post(act_url(case, "close"), {})
    assert refresh(case).status == Case.Status.CLOSED
    teammate_client.post(act_url(case, "reopen"), {"reopen-reason": "客户说又坏了"})
    case = refresh(case)
    assert case.is_open and case.reopen_count == 1


def test_unsatisfied_callback_reopens(teammate_client, service_case, teammate):
    teammate_client.post(act_url(service_case, "resolve"), {"resolve-resolution": "已处理"})
    teammate_client.post(act_url(service_case, "callback"), {"callback-satisfied": "no"})
    case = refresh(service_case)
    assert case.is_open and case.reopen_count == 1
    assert case.events.get(kind=CaseEvent.Kind.CALLBACK).data == {"satisfied": False}


def test_a_move_the_state_refuses_shows_the_service_message(teammate_client, service_case):
    response = teammate_client.post(act_url(service_case, "close"), {})
    assert response.status_code == 200
    assert "closed only after the callback" in response.content.decode()
    assert refresh(service_case).status == Case.Status.NEW


def test_escalate_needs_a_reason(teammate_client, service_case):
    bad = teammate_client.post(act_url(service_case, "escalate"), {"escalate-reason": ""})
    assert bad.status_code == 200 and refresh(service_case).escalation_level == 0
    teammate_client.post(
        act_url(service_case, "escalate"), {"escalate-reason": "客户要投诉到12315"}
    )
    case = refresh(service_case)
    assert case.escalation_level == 1
    assert case.events.get(kind=CaseEvent.Kind.ESCALATED).body == "客户要投诉到12315"


def test_manager_assigns_to_anyone(owner_client, teammate, service_case, departments):
    data = {"assign-owner": teammate.pk, "assign-department": departments["service"].pk}
    assert owner_client.post(act_url(service_case, "assign"), data).status_code == 302
    assert refresh(service_case).owner == teammate
    assert refresh(service_case).status == Case.Status.ASSIGNED


def test_handler_can_take_a_case_but_not_give_it_away(
    handler_client, handler, teammate, logistics_case
):
    given = handler_client.post(act_url(logistics_case, "assign"), {"assign-owner": teammate.pk})
    assert given.status_code == 200 and "assign-owner" in given.content.decode()
    assert refresh(logistics_case).owner is None
    handler_client.post(act_url(logistics_case, "assign"), {"assign-owner": handler.pk})
    assert refresh(logistics_case).owner == handler


def test_assign_needs_owner_or_department(owner_client, service_case):
    response = owner_client.post(act_url(service_case, "assign"), {})
    assert (
        response.status_code == 200
        and "Choose an owner or a department." in response.content.decode()
    )


def test_merge_into_another_case(teammate_client, make_case, owner):
    duplicate, survivor = make_case(actor=owner), make_case(actor=owner)
    unknown = teammate_client.post(act_url(duplicate, "merge"), {"merge-number": "C000"})
    assert unknown.status_code == 200 and "No case with this number." in unknown.content.decode()
    itself = teammate_client.post(act_url(duplicate, "merge"), {"merge-number": duplicate.number})
    assert "cannot be merged into itself" in itself.content.decode()
    teammate_client.post(act_url(duplicate, "merge"), {"merge-number": survivor.number})
    merged = refresh(duplicate)
    assert merged.status == Case.Status.MERGED and merged.merged_into == survivor
    assert (
        f"Merged into {survivor.number}" in teammate_client.get(detail_url(merged)).content.decode()
    )


def test_handler_cannot_merge_into_a_case_they_cannot_see(
    handler_client, logistics_case, service_case
):
    response = handler_client.post(
        act_url(logistics_case, "merge"), {"merge-number": service_case.number}
    )
    assert "No case with this number." in response.content.decode()
    assert refresh(logistics_case).status != Case.Status.MERGED


def _edit_data(case, **changes):
    data = {
        "edit-channel": case.channel, "edit-category": case.category_id or "",
        "edit-severity": case.severity, "edit-subject": case.subject,
        "edit-description": case.description, "edit-amount": "",
        "edit-contact_name": case.contact_name, "edit-contact_phone": case.contact_phone,
        "edit-contact_email": case.contact_email,
        "edit-region": case.region, "edit-store": case.store, "edit-order_ref": case.order_ref,
        "edit-tier": case.tier,
    }  # fmt: skip
    return data | {f"edit-{name}": value for name, value in changes.items()}


def test_edit_details(teammate_client, service_case):
    data = _edit_data(service_case, severity="urgent", amount="12000", media_risk="on")
    assert teammate_client.post(act_url(service_case, "edit"), data).status_code == 302
    case = refresh(service_case)
    assert case.severity == "urgent" and case.amount_fen == 1_200_000 and case.is_major
    assert case.events.filter(kind=CaseEvent.Kind.UPDATED).exists()
    html = teammate_client.get(detail_url(case)).content.decode()
    assert "Severity: General → Urgent" in html and "¥0.00 → ¥12,000.00" in html


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"amount": "lots"}, "amount", "Enter an amount in yuan"),
        ({"contact_phone": "999"}, "contact_phone", "Not a valid mobile number"),
        ({"severity": "apocalyptic"}, "severity", "Select a valid choice"),
    ],
)
def test_edit_bad_input_re_renders(teammate_client, service_case, changes, field, message):
    response = teammate_client.post(
        act_url(service_case, "edit"), _edit_data(service_case, **changes)
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["forms"]["edit"].errors[field])
    assert refresh(service_case).contact_phone == PHONE


def test_handler_edit_keeps_the_hidden_contact_fields(handler_client, logistics_case):
    data = _edit_data(logistics_case, severity="important", contact_phone="13999999999")
    assert handler_client.post(act_url(logistics_case, "edit"), data).status_code == 302
    case = refresh(logistics_case)
    assert case.severity == "important" and case.contact_phone == PHONE


def test_actions_need_the_csrf_token(teammate, service_case):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(teammate)
    response = client.post(act_url(service_case, "note"), {"note-body": "x"})
    assert response.status_code == 403
    page = client.get(detail_url(service_case)).content.decode()
    for name in ("reply", "note", "edit"):
        form = page.split(f'action="{act_url(service_case, name)}"', 1)[1].split("</form>")[0]
        assert 'name="csrfmiddlewaretoken"' in form
