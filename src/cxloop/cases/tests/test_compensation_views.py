"""Compensation pages: who may grant, approve, see the queue and the follow-up tasks."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.cases import compensation as comp
from cxloop.cases.models import CaseTask, Compensation

pytestmark = pytest.mark.django_db
S = Compensation.Status
QUEUE = reverse("cases_compensation:queue")
TASKS = reverse("cases_compensation:tasks")


def grant_url(case):
    return reverse("cases_compensation:grant", args=[case.pk])


def decide_url(row):
    return reverse("cases_compensation:decide", args=[row.pk])


def post_grant(client, case, amount, **extra):
    data = {"kind": "coupon", "amount": amount, "reason": "配送延误", **extra}
    return client.post(grant_url(case), data)


@pytest.fixture
def case(make_case):
    return make_case()  # a customer-service case (category product)


def test_outsiders_are_refused_everywhere(outsider_client, case):
    assert outsider_client.get(grant_url(case)).status_code == 403
    assert post_grant(outsider_client, case, "10").status_code == 403
    assert outsider_client.get(QUEUE).status_code == 403
    assert outsider_client.get(TASKS).status_code == 403
    assert not Compensation.objects.exists()


def test_anonymous_visitors_must_sign_in(client, case):
    assert client.get(grant_url(case)).status_code == 302


def test_a_handler_cannot_reach_another_departments_case(handler_client, case):
    assert handler_client.get(grant_url(case)).status_code == 404
    assert post_grant(handler_client, case, "10").status_code == 404


def test_the_grant_page_works_standalone(teammate_client, case):
    html = teammate_client.get(grant_url(case)).content.decode()
    assert 'name="amount"' in html and 'name="key"' in html and "¥50.00" in html
    assert case.number in html and "Care package" in html


def test_an_agent_grants_up_to_the_limit_and_asks_above(teammate_client, case, teammate):
    response = post_grant(teammate_client, case, "50")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert Compensation.objects.get().status == S.GRANTED
    post_grant(teammate_client, case, "0.01")  # the case's ¥50 is used up
    pending = Compensation.objects.get(status=S.PENDING)
    assert pending.amount_fen == 1 and pending.requested_by == teammate


def test_a_double_submit_grants_once(teammate_client, case):
    for _ in range(2):
        post_grant(teammate_client, case, "20", key="same-form")
    assert Compensation.objects.count() == 1


@pytest.mark.parametrize("amount", ["", "abc", "0", "-5", "1.234"])
def test_bad_amounts_re_render_with_the_error(teammate_client, case, amount):
    response = post_grant(teammate_client, case, amount)
    assert response.status_code == 400 and "errorlist" in response.content.decode()
    assert not Compensation.objects.exists()


def test_the_queue_is_for_approvers(teammate_client, owner_client, case, teammate):
    row = comp.grant_compensation(case=case, actor=teammate, kind="refund",
                                  amount_fen=8000, reason="退差价")  # fmt: skip
    assert teammate_client.get(QUEUE).status_code == 403
    assert teammate_client.post(decide_url(row), {"decision": "approve"}).status_code == 403
    html = owner_client.get(QUEUE).content.decode()
    assert case.number in html and "¥80.00" in html and "退差价" in html


def test_a_manager_approves_and_rejects_with_a_note(owner_client, case, teammate, owner):
    first, second = (
        comp.grant_compensation(
            case=case, actor=teammate, kind="refund", amount_fen=amount, reason="退款"
        )  # fmt: skip
        for amount in (8000, 9000)
    )
    response = owner_client.post(decide_url(first), {"decision": "approve", "note": "同意"})
    assert response.status_code == 302 and response["Location"] == QUEUE
    first.refresh_from_db()
    assert first.status == S.APPROVED and first.decided_by == owner
    owner_client.post(decide_url(second), {"decision": "reject"})  # no reason: refused
    assert Compensation.objects.get(pk=second.pk).status == S.PENDING
    owner_client.post(decide_url(second), {"decision": "reject", "note": "超标准"})
    assert Compensation.objects.get(pk=second.pk).status == S.REJECTED
    again = owner_client.post(
        decide_url(first), {"decision": "reject", "note": "反悔"}, follow=True
    )
    assert "already been decided" in again.content.decode()
    assert Compensation.objects.get(pk=first.pk).status == S.APPROVED


def test_no_self_approval_through_the_page(owner_client, case, owner):
    own = comp.grant_compensation(case=case, actor=owner, kind="gift", amount_fen=9000,
                                  reason="礼品")  # fmt: skip
    html = owner_client.get(QUEUE).content.decode()
    assert "another approver decides" in html
    response = owner_client.post(decide_url(own), {"decision": "approve"}, follow=True)
    assert "Another approver" in response.content.decode()
    assert Compensation.objects.get(pk=own.pk).status == S.PENDING


def test_care_tasks_from_the_case_and_done_on_the_tasks_page(teammate_client, case, teammate):
    url = reverse("cases_compensation:care", args=[case.pk])
    assert teammate_client.post(url, {"kind": "care_package"}).status_code == 302
    task = CaseTask.objects.get(case=case, kind="care_package")
    html = teammate_client.get(TASKS, {"scope": "all"}).content.decode()
    assert case.number in html and "Care package" in html
    done = reverse("cases_compensation:complete", args=[task.pk])
    teammate_client.post(done, {"outcome": ""})
    assert CaseTask.objects.get(pk=task.pk).done_at is None
    assert teammate_client.post(done, {"outcome": "礼包已寄出"}).status_code == 302
    assert CaseTask.objects.get(pk=task.pk).outcome == "礼包已寄出"
    html = teammate_client.get(TASKS, {"scope": "all", "state": "done"}).content.decode()
    assert "礼包已寄出" in html


def test_tasks_mine_and_all_and_by_kind(teammate_client, case, teammate, owner):
    mine = CaseTask.objects.create(case=case, kind="callback", assignee=teammate)
    theirs = CaseTask.objects.create(case=case, kind="thank_you_note", assignee=owner)
    page = teammate_client.get(TASKS).context["page"]
    assert list(page) == [mine]
    page = teammate_client.get(TASKS, {"scope": "all"}).context["page"]
    assert set(page) == {mine, theirs}
    page = teammate_client.get(TASKS, {"scope": "all", "kind": "thank_you_note"}).context["page"]
    assert list(page) == [theirs]
    html = teammate_client.get(TASKS).content.decode()
    assert "Record the callback on the case" in html


def test_a_handler_sees_only_tasks_of_their_departments(handler_client, case, handler):
    CaseTask.objects.create(case=case, kind="care_package", assignee=handler)
    assert list(handler_client.get(TASKS).context["page"]) == []
