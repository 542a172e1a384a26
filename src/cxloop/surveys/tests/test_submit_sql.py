"""The hand-written SQL of the answer path gives what the ORM gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Q, Sum
from django.utils import timezone

from cxloop.customers.models import Order
from cxloop.customers.selectors import NOT_SPENT
from cxloop.surveys import rollups, submit_sql
from cxloop.surveys.models import Invitation, Response, RollupDirtyDay
from cxloop.surveys.tests.answer_helpers import make_customer, make_invitation, make_survey

pytestmark = pytest.mark.django_db


def _start(invitation) -> Response:
    return Response.objects.create(
        survey=invitation.survey,
        version=invitation.survey.current_version,
        invitation=invitation,
        customer=invitation.customer,
        answers={"q": "好"},
    )


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_invitation_lookup_matches_the_orm_with_everything_attached(django_assert_num_queries):
    invitation = make_invitation(make_survey())
    response = _start(invitation)
    with django_assert_num_queries(1):
        found = submit_sql.invitation_for_answering(pk=invitation.pk, nonce=invitation.nonce)
        survey, version = found.survey, found.survey.current_version
        assert found.response.pk == response.pk
    orm = Invitation.objects.get(pk=invitation.pk)
    assert _fields(found) == _fields(orm)
    assert _fields(found.response) == _fields(Response.objects.get(pk=response.pk))
    assert version.definition == orm.survey.current_version.definition
    assert survey.status == orm.survey.status and isinstance(survey.public_link_enabled, bool)
    assert found.response.started_at.tzinfo is not None


def test_invitation_lookup_without_response_or_with_a_wrong_nonce():
    invitation = make_invitation(make_survey())
    found = submit_sql.invitation_for_answering(pk=invitation.pk, nonce=invitation.nonce)
    with pytest.raises(Response.DoesNotExist):
        found.response  # noqa: B018 - cached as missing: no second query, no stale row
    assert submit_sql.invitation_for_answering(pk=invitation.pk, nonce="wrong") is None
    assert submit_sql.invitation_for_answering(pk=invitation.pk + 999, nonce="x") is None


def test_customer_spend_matches_the_orm_aggregate():
    customer = make_customer(birthday=dt.date(1990, 5, 1), registered_at=dt.date(2024, 1, 2))
    now = timezone.now()
    for days, amount, status in [(10, 12_300, "completed"), (400, 50_000, "completed"),
                                 (20, 99_900, "refunded"), (30, 700, "delivered")]:  # fmt: skip
        Order.objects.create(
            customer=customer, external_id=f"O{days}", amount_fen=amount, status=status,
            placed_at=now - dt.timedelta(days=days),
        )  # fmt: skip
    since = now - dt.timedelta(days=365)
    row = submit_sql.customer_with_spend(customer.pk, since=since, not_spent=NOT_SPENT)
    expected = Order.objects.filter(
        ~Q(status__in=NOT_SPENT), customer=customer, placed_at__gte=since
    ).aggregate(total=Sum("amount_fen"))["total"]
    assert row == {
        "region": "华东",
        "store": "",
        "birthday": dt.date(1990, 5, 1),
        "registered_at": dt.date(2024, 1, 2),
        "spend": expected,
    }
    assert expected == 13_000
    assert submit_sql.customer_with_spend(0, since=since, not_spent=NOT_SPENT) is None


def test_claim_submit_wins_once_and_stores_values_like_the_orm():
    response = _start(make_invitation(make_survey()))
    now = timezone.now()
    fields = {"submitted_at": now, "answers": {"csat": 5}, "flags": [{"code": "x"}], "csi": 80.5}
    assert submit_sql.claim_submit(response_id=response.pk, fields=fields) is True
    assert submit_sql.claim_submit(response_id=response.pk, fields=fields) is False
    response.refresh_from_db()
    assert (response.submitted_at, response.answers, response.flags) == (
        now,
        {"csat": 5},
        [{"code": "x"}],
    )
    assert Response.objects.filter(answers__csat=5).count() == 1  # stored as real JSON


def test_duplicate_lookup_and_dirty_day_upsert():
    invitation = make_invitation(make_survey())
    response = _start(invitation)
    since = timezone.now() - dt.timedelta(hours=1)
    args = {"survey_id": response.survey_id, "customer_id": invitation.customer_id}
    assert not submit_sql.submitted_exists(exclude_id=0, since=since, **args)
    Response.objects.filter(pk=response.pk).update(submitted_at=timezone.now())
    assert submit_sql.submitted_exists(exclude_id=0, since=since, **args)
    assert not submit_sql.submitted_exists(exclude_id=response.pk, since=since, **args)
    day = rollups.local_day(timezone.now())
    for _ in range(2):
        submit_sql.mark_day_dirty(survey_id=response.survey_id, day=day, at=timezone.now())
    assert RollupDirtyDay.objects.filter(survey_id=response.survey_id, day=day).count() == 1
