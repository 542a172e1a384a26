"""/api/v1/events and record_event: idempotency, conflicts, links, side effects, bulk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.core.events import EventConflict, event_recorded, record_event
from cxloop.core.models import InboundEvent
from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.django_db
SHANGHAI = timezone.get_default_timezone()


def _event(event_id="e1", type_="order.paid", **fields):
    return {"event_id": event_id, "type": type_, "occurred_at": "2026-03-02T10:00:00", **fields}


@pytest.fixture
def order():
    customer = Customer.objects.create(external_id="C1", name="王伟")
    placed = dt.datetime(2026, 3, 1, 9, tzinfo=SHANGHAI)
    return Order.objects.create(
        customer=customer, external_id="O1", amount_fen=9900, placed_at=placed
    )


def test_same_event_twice_is_one_row(owner_api):
    first = owner_api.post("/events", _event(payload={"note": "x"}))
    second = owner_api.post("/events", _event(payload={"note": "x"}))
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["event_id"] == second.json()["event_id"] == "e1"
    assert InboundEvent.objects.count() == 1


def test_same_id_other_payload_is_409(owner_api):
    owner_api.post("/events", _event(payload={"note": "x"}))
    response = owner_api.post("/events", _event(payload={"note": "y"}))
    assert response.status_code == 409
    assert "e1" in response.json()["detail"]
    assert InboundEvent.objects.get().payload == {"note": "x"}


def test_same_instant_in_another_offset_is_the_same_event(owner_api):
    owner_api.post("/events", _event(occurred_at="2026-03-02T10:00:00+08:00"))
    again = owner_api.post("/events", _event(occurred_at="2026-03-02T02:00:00Z"))
    assert again.status_code == 200


def test_unknown_namespaced_types_are_accepted_bad_ones_not(owner_api):
    assert owner_api.post("/events", _event(type_="loyalty.points_earned")).status_code == 201
    response = owner_api.post("/events", _event("e2", type_="Order Delivered"))
    assert response.status_code == 422
    assert "type" in response.json()["errors"]


def test_delivered_event_links_and_marks_order_delivered(owner_api, order):
    body = _event(type_="order.delivered", payload={"order_external_id": "O1"})
    response = owner_api.post("/events", body)
    assert response.status_code == 201
    assert response.json()["customer_external_id"] == "C1"
    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.delivered_at == dt.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
    event = InboundEvent.objects.get()
    assert (event.order, event.customer) == (order, order.customer)


def test_late_paid_event_does_not_move_status_back(owner_api, order):
    Order.objects.filter(pk=order.pk).update(status="delivered")
    owner_api.post("/events", _event(type_="order.paid", payload={"order_external_id": "O1"}))
    order.refresh_from_db()
    assert order.status == "delivered"
    assert InboundEvent.objects.get().order == order


def test_event_for_unknown_order_is_stored_unlinked(owner_api):
    response = owner_api.post("/events", _event(payload={"order_external_id": "LATER"}))
    assert response.status_code == 201
    assert InboundEvent.objects.get().order is None


def test_registered_event_upserts_customer(owner_api):
    customer = {"external_id": "C7", "name": "李娜", "phone": "13912345678"}
    body = _event(type_="customer.registered", payload={"customer": customer})
    assert owner_api.post("/events", body).status_code == 201
    stored = Customer.objects.get(external_id="C7")
    assert stored.phone == "13912345678"
    assert InboundEvent.objects.get().customer == stored


def test_registered_event_with_bad_customer_is_422_and_not_stored(owner_api):
    customer = {"external_id": "C7", "phone": "12"}
    body = _event(type_="customer.registered", payload={"customer": customer})
    response = owner_api.post("/events", body)
    assert response.status_code == 422
    assert "payload.customer.phone" in response.json()["errors"]
    assert not InboundEvent.objects.exists() and not Customer.objects.exists()


def test_placed_event_with_order_creates_it(owner_api, order):
    new = {
        "external_id": "O2",
        "customer_external_id": "C1",
        "amount_fen": 500,
        "placed_at": "2026-03-03T08:00:00",
    }
    response = owner_api.post("/events", _event(type_="order.placed", payload={"order": new}))
    assert response.status_code == 201
    assert Order.objects.get(external_id="O2").amount_fen == 500


def test_list_events_newest_first_and_filtered(owner_api, analyst_api):
    for n, type_ in enumerate(["order.paid", "order.shipped", "order.paid"]):
        owner_api.post("/events", _event(f"e{n}", type_))
    body = analyst_api.get("/events", {"limit": 2}).json()
    assert [e["event_id"] for e in body["items"]] == ["e2", "e1"]
    rest = analyst_api.get("/events", {"limit": 2, "cursor": body["next_cursor"]}).json()
    assert [e["event_id"] for e in rest["items"]] == ["e0"] and rest["next_cursor"] is None
    paid = analyst_api.get("/events", {"type": "order.paid"}).json()
    assert [e["event_id"] for e in paid["items"]] == ["e2", "e0"]


def test_listed_payload_masks_pii_for_analyst(owner_api, analyst_api):
    customer = {"external_id": "C7", "phone": "13912345678", "email": "li@example.com"}
    owner_api.post("/events", _event(type_="customer.registered", payload={"customer": customer}))
    shown = analyst_api.get("/events").json()["items"][0]["payload"]["customer"]
    assert shown["phone"] == "139****5678" and shown["email"] == "l***@example.com"
    assert InboundEvent.objects.get().payload["customer"]["phone"] == "13912345678"


def test_bulk_mixed(owner_api, order):
    owner_api.post("/events", _event("dup", payload={"a": 1}))
    owner_api.post("/events", _event("clash", payload={"a": 1}))
    events = [
        _event("new", type_="order.delivered", payload={"order_external_id": "O1"}),
        _event("dup", payload={"a": 1}),
        _event("clash", payload={"a": 2}),
        {"event_id": "bad", "type": "order.paid"},
        _event(
            "bad-customer",
            type_="customer.updated",
            payload={"customer": {"external_id": "C1", "email": "x"}},
        ),
        42,
    ]
    response = owner_api.post("/events/bulk", {"events": events})
    assert response.status_code == 200
    body = response.json()
    assert [e["result"] for e in body["events"]] == [
        "created",
        "duplicate",
        "conflict",
        "error",
        "error",
        "error",
    ]
    assert body["summary"] == {"created": 1, "duplicate": 1, "conflict": 1, "error": 3}
    assert "occurred_at" in body["events"][3]["errors"]
    assert "payload.customer.email" in body["events"][4]["errors"]
    assert InboundEvent.objects.count() == 3
    order.refresh_from_db()
    assert order.status == "delivered"


def test_bulk_all_bad_is_422(owner_api):
    response = owner_api.post("/events/bulk", {"events": [{"event_id": "x"}, 1]})
    assert response.status_code == 422
    assert "events.0.type" in response.json()["errors"]


def test_bulk_limit_is_413(owner_api):
    events = [_event(f"e{n}") for n in range(501)]
    assert owner_api.post("/events/bulk", {"events": events}).status_code == 413
    assert not InboundEvent.objects.exists()


def test_record_event_service_directly(owner, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, event, **kwargs):
        received.append(event.event_id)

    event_recorded.connect(receiver)
    occurred = dt.datetime(2026, 3, 2, 10)  # naive: Asia/Shanghai
    kwargs = {"event_id": "s1", "type": "case.resolved", "occurred_at": occurred, "payload": {}}
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event, created = record_event(**kwargs, actor=owner)
            again, created_again = record_event(**kwargs, actor=owner)
    finally:
        event_recorded.disconnect(receiver)
    assert created and not created_again and again.pk == event.pk
    assert event.occurred_at == dt.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
    assert received == ["s1"]  # sent once, after commit, only for the new event
    with pytest.raises(EventConflict):
        record_event(**{**kwargs, "type": "case.reopened"})
