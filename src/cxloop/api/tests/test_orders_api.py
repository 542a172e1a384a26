"""/api/v1/orders: list with filters, read, upsert in integer fen, bulk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.django_db
SHANGHAI = timezone.get_default_timezone()


@pytest.fixture
def customer():
    return Customer.objects.create(external_id="C1", name="王伟")


def _order(customer, external_id, placed, **fields):
    return Order.objects.create(
        customer=customer, external_id=external_id, amount_fen=12850, placed_at=placed, **fields
    )


def test_list_and_filters(owner_api, customer):
    other = Customer.objects.create(external_id="C2")
    jan = dt.datetime(2026, 1, 10, 12, tzinfo=SHANGHAI)
    _order(customer, "O1", jan)
    _order(customer, "O2", jan + dt.timedelta(days=30), status="delivered")
    _order(other, "O3", jan + dt.timedelta(days=60))

    def ids(**params):
        response = owner_api.get("/orders", params)
        assert response.status_code == 200, response.content
        return [o["external_id"] for o in response.json()["items"]]

    assert ids() == ["O1", "O2", "O3"]
    assert ids(customer="C2") == ["O3"]
    assert ids(status="delivered") == ["O2"]
    assert ids(placed_after="2026-02-01T00:00:00+08:00") == ["O2", "O3"]
    assert ids(placed_before="2026-02-01T00:00:00+08:00") == ["O1"]
    assert owner_api.get("/orders", {"status": "lost"}).status_code == 422


def test_get_one_in_fen_and_shanghai_time(analyst_api, customer):
    _order(customer, "O1", dt.datetime(2026, 1, 10, 12, tzinfo=SHANGHAI))
    body = analyst_api.get("/orders/O1").json()
    assert body["amount_fen"] == 12850
    assert body["customer_external_id"] == "C1"
    assert body["placed_at"] == "2026-01-10T12:00:00+08:00"


def test_unknown_order_is_404(owner_api):
    assert owner_api.get("/orders/NOPE").status_code == 404


def test_put_creates_and_updates(owner_api, customer):
    body = {"customer_external_id": "C1", "amount_fen": 9900, "placed_at": "2026-03-01 10:00"}
    created = owner_api.put("/orders/O1", body)
    assert created.status_code == 201, created.content
    assert created.json()["order"]["placed_at"] == "2026-03-01T10:00:00+08:00"
    updated = owner_api.put("/orders/O1", {**body, "status": "shipped", "channel": "app"})
    assert updated.status_code == 200 and updated.json()["result"] == "updated"
    order = Order.objects.get()
    assert (order.amount_fen, order.status, order.channel) == (9900, "shipped", "app")


@pytest.mark.parametrize(
    "change,field",
    [
        ({"amount_fen": -1}, "amount_fen"),
        ({"amount_fen": 12.5}, "amount_fen"),
        ({"amount_fen": 10**30}, "amount_fen"),
        ({"customer_external_id": "NOBODY"}, "customer_external_id"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"status": "lost"}, "status"),
        ({"amount": "128.50"}, "amount"),  # the API takes integer fen only
    ],
)
def test_put_rejects_bad_values(owner_api, customer, change, field):
    body = {"customer_external_id": "C1", "amount_fen": 100, "placed_at": "2026-03-01", **change}
    response = owner_api.put("/orders/O1", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert not Order.objects.exists()


def test_put_requires_the_order_fields(owner_api, customer):
    response = owner_api.put("/orders/O1", {"status": "paid"})
    assert response.status_code == 422
    assert {"customer_external_id", "amount_fen", "placed_at"} <= set(response.json()["errors"])


def test_bulk_mixed(owner_api, customer):
    rows = [
        {
            "external_id": "O1",
            "customer_external_id": "C1",
            "amount_fen": 100,
            "placed_at": "2026-03-01",
        },
        {
            "external_id": "O2",
            "customer_external_id": "C9",
            "amount_fen": 100,
            "placed_at": "2026-03-01",
        },
        {
            "external_id": "O3",
            "customer_external_id": "C1",
            "amount_fen": -5,
            "placed_at": "2026-03-01",
        },
    ]
    response = owner_api.post("/orders/bulk", {"rows": rows})
    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"created": 1, "updated": 0, "unchanged": 0, "failed": 2}
    assert body["rows"][1]["errors"].keys() == {"customer_external_id"}
    assert body["rows"][2]["errors"].keys() == {"amount_fen"}
    assert list(Order.objects.values_list("external_id", flat=True)) == ["O1"]


def test_bulk_second_time_is_unchanged(owner_api, customer):
    rows = [
        {
            "external_id": "O1",
            "customer_external_id": "C1",
            "amount_fen": 1,
            "placed_at": "2026-03-01",
        }
    ]
    owner_api.post("/orders/bulk", {"rows": rows})
    again = owner_api.post("/orders/bulk", {"rows": rows}).json()
    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 1, "failed": 0}


def test_bulk_limit(owner_api):
    rows = [{"external_id": f"O{n}"} for n in range(1001)]
    assert owner_api.post("/orders/bulk", {"rows": rows}).status_code == 413


def test_analyst_reads_but_cannot_write(analyst_api, customer):
    assert analyst_api.get("/orders").status_code == 200
    body = {"customer_external_id": "C1", "amount_fen": 100, "placed_at": "2026-03-01"}
    assert analyst_api.put("/orders/O1", body).status_code == 403
    assert not Order.objects.exists()
