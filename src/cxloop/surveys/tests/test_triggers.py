"""Triggers: events → scheduled invitations, dedupe, imports, "no order after 7 days", periodic."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from huey import SqliteHuey

from cxloop.core.events import record_event
from cxloop.core.models import InboundEvent, OutboxMessage
from cxloop.customers.models import Order
from cxloop.surveys import tasks, triggers
from cxloop.surveys.models import Invitation, Survey, Trigger
from cxloop.surveys.tests.invitation_helpers import make_customer, make_order, make_survey

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def survey():
    return make_survey("post-delivery")


@pytest.fixture
def delivered_trigger(survey):
    return Trigger.objects.create(
        survey=survey,
        name="Post-delivery CSAT",
        event_type="order.delivered",
        delay_minutes=120,
        expire_after_hours=24,
        channel="sms",
    )


def _deliver(customer, *, occurred_at, event_id="evt-1"):
    return record_event(
        event_id=event_id,
        type="order.delivered",
        occurred_at=occurred_at,
        payload={"customer_external_id": customer.external_id},
    )[0]


def test_event_schedules_invitation_after_delay_with_expiry(
    delivered_trigger, django_capture_on_commit_callbacks
):
    customer = make_customer()
    occurred = timezone.now() - dt.timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        event = _deliver(customer, occurred_at=occurred)
    invitation = Invitation.objects.get()
    assert invitation.customer == customer and invitation.trigger == delivered_trigger
    assert invitation.status == Invitation.Status.SCHEDULED
    assert invitation.scheduled_for == occurred + 2 * HOUR
    assert invitation.expires_at == occurred + 26 * HOUR
    assert invitation.source_event == event
    assert invitation.dedupe_key == f"trigger:{delivered_trigger.pk}:event:{event.pk}"
    event.refresh_from_db()
    assert event.processed_at is not None


def test_same_event_twice_gives_one_invitation(
    delivered_trigger, django_capture_on_commit_callbacks
):
    customer = make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        event = _deliver(customer, occurred_at=timezone.now())
        _deliver(customer, occurred_at=event.occurred_at)  # the integrator retried
    triggers.handle_event(event=event)  # and the sweep saw it too
    assert Invitation.objects.count() == 1


def test_only_matching_enabled_triggers_of_active_surveys(survey, delivered_trigger):
    customer = make_customer()
    Trigger.objects.create(survey=survey, name="off", event_type="order.delivered", enabled=False)
    Trigger.objects.create(survey=survey, name="other", event_type="order.shipped")
    closed = make_survey(status=Survey.Status.CLOSED)
    Trigger.objects.create(survey=closed, name="closed", event_type="order.delivered")
    event = _deliver(customer, occurred_at=timezone.now())
    made = triggers.handle_event(event=event)
    assert [invitation.trigger for invitation in made] == [delivered_trigger]


def test_old_event_or_no_customer_invites_nobody(delivered_trigger):
    old = _deliver(make_customer(), occurred_at=timezone.now() - 2 * DAY)
    anonymous, _ = record_event(
        event_id="evt-2", type="order.delivered", occurred_at=timezone.now(), payload={}
    )
    assert triggers.handle_event(event=old) == []
    assert triggers.handle_event(event=anonymous) == []
    assert not Invitation.objects.exists()
    assert not InboundEvent.objects.filter(processed_at__isnull=True).exists()


def test_sweep_handles_events_the_queue_missed(delivered_trigger):
    customer = make_customer()
    event = _deliver(customer, occurred_at=timezone.now())  # on_commit never ran: no task
    assert triggers.process_pending_events() == 0  # too fresh: its task may still be coming
    assert triggers.process_pending_events(now=timezone.now() + 5 * 60 * dt.timedelta(seconds=1))
    assert Invitation.objects.get().source_event == event


def test_imported_delivered_orders_record_events(
    delivered_trigger, django_capture_on_commit_callbacks
):
    customer = make_customer()
    fresh = make_order(customer, days_ago=0.1)
    old = make_order(make_customer(), days_ago=30)
    placed = make_order(customer, days_ago=0.1, status=Order.Status.PLACED)
    ids = [fresh.external_id, old.external_id, placed.external_id]
    with django_capture_on_commit_callbacks(execute=True):
        assert triggers.events_for_imported_orders(order_external_ids=ids) == 1
    event = InboundEvent.objects.get()
    assert (event.type, event.order, event.customer) == ("order.delivered", fresh, customer)
    assert Invitation.objects.get().source_event == event
    assert triggers.events_for_imported_orders(order_external_ids=ids) == 0


def test_no_order_after_seven_days(survey):
    trigger = Trigger.objects.create(
        survey=survey,
        name="Onboarding",
        kind=Trigger.Kind.NO_ORDER_AFTER_REGISTRATION,
        delay_minutes=7 * 24 * 60,
        channel="sms",
    )
    due = make_customer(registered_days_ago=7)
    also_due = make_customer(registered_days_ago=9)
    make_customer(registered_days_ago=6)  # too early
    make_order(make_customer(registered_days_ago=7), days_ago=2)  # ordered
    make_customer(registered_days_ago=60)  # registered long before: not an onboarding case
    assert triggers.run_periodic_triggers() == 2
    assert triggers.run_periodic_triggers() == 0  # once per customer and trigger
    invited = set(Invitation.objects.filter(trigger=trigger).values_list("customer", flat=True))
    assert invited == {due.pk, also_due.pk}


def test_periodic_relationship_survey(survey, monkeypatch):
    trigger = Trigger.objects.create(
        survey=survey,
        name="Quarterly NPS",
        kind=Trigger.Kind.PERIODIC,
        every_days=90,
        active_within_days=180,
        channel="sms",
    )
    active = [make_customer() for _ in range(3)]
    for customer in active:
        make_order(customer, days_ago=10)
    make_order(make_customer(), days_ago=200)  # not active in the last 180 days
    monkeypatch.setattr(triggers, "RUN_BATCH", 2)
    now = timezone.now()
    assert triggers.run_periodic_triggers(now=now) == 2  # a batch; the round is not over
    assert Trigger.objects.get(pk=trigger.pk).last_run_at is None
    assert triggers.run_periodic_triggers(now=now) == 1
    assert Trigger.objects.get(pk=trigger.pk).last_run_at == now
    assert triggers.run_periodic_triggers(now=now + 89 * DAY) == 0  # not due yet
    next_round = now + 91 * DAY
    assert triggers.run_relationship_trigger(trigger=Trigger.objects.get(), now=next_round) == 2
    invited = Invitation.objects.filter(trigger=trigger).values_list("customer", flat=True)
    assert sorted(invited) == sorted([c.pk for c in active] + [c.pk for c in active[:2]])


@pytest.fixture
def sqlite_huey(tmp_path):
    return SqliteHuey(name=f"cxloop-test-{uuid.uuid4().hex}", filename=str(tmp_path / "q.sqlite3"))


def test_event_to_sent_invitation_through_a_real_queue(
    delivered_trigger, sqlite_huey, monkeypatch, django_capture_on_commit_callbacks
):
    queued_event = sqlite_huey.task(name="process_survey_event")(
        tasks.process_event_task.call_local
    )
    queued_send = sqlite_huey.task(name="send_due_invitations")(
        tasks.send_due_invitations.call_local
    )
    monkeypatch.setattr(tasks, "process_event_task", queued_event)
    customer = make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(customer, occurred_at=timezone.now() - 3 * HOUR)  # due an hour ago
    assert sqlite_huey.pending_count() == 1 and not Invitation.objects.exists()
    sqlite_huey.execute(sqlite_huey.dequeue())
    invitation = Invitation.objects.get()
    assert invitation.status == Invitation.Status.SCHEDULED
    result = queued_send()
    sqlite_huey.execute(sqlite_huey.dequeue())
    assert result.get() == 1
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SENT
    message = OutboxMessage.objects.get(dedupe_key=f"invitation:{invitation.pk}")
    assert message.recipient == customer.phone


def test_periodic_tasks_are_registered():
    from huey.contrib import djhuey

    top_of_hour = dt.datetime(2025, 3, 4, 10, 7)
    due = {type(task).__name__ for task in djhuey.HUEY.read_periodic(top_of_hour)}
    assert {"send_due_invitations", "run_periodic_triggers"} <= due
    assert "expire_invitations" not in due
    ten_past = dt.datetime(2025, 3, 4, 10, 10)
    assert "expire_invitations" in {
        type(task).__name__ for task in djhuey.HUEY.read_periodic(ten_past)
    }


def test_an_order_import_file_triggers_the_delivery_survey(
    delivered_trigger, tmp_path, django_capture_on_commit_callbacks
):
    """Through the real import path: the CSV's delivered order becomes an invitation."""
    from cxloop.customers.importing import import_path

    customer = make_customer()
    delivered = timezone.localtime() - dt.timedelta(hours=3)
    path = tmp_path / "orders.csv"
    path.write_text(
        "订单号,客户编号,金额,下单时间,送达时间,状态\n"
        f"IMP-1,{customer.external_id},88.00,{delivered:%Y-%m-%d %H:%M},"
        f"{delivered:%Y-%m-%d %H:%M},已送达\n",
        encoding="utf-8",
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = import_path(kind="orders", path=path)
    assert job.created_count == 1, job.errors
    event = InboundEvent.objects.get(source="import")
    assert event.order.external_id == "IMP-1"
    assert Invitation.objects.get(source_event=event).customer == customer
