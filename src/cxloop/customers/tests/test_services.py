import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cxloop.core.models import AuditLog
from cxloop.customers import services, upsert_sql
from cxloop.customers.models import Customer, Order
from cxloop.customers.validation import UNKNOWN_CUSTOMER


def _audits(action):
    return AuditLog.objects.filter(action=action).order_by("id")


@pytest.mark.django_db
def test_upsert_customer_creates_updates_and_leaves_unchanged(owner):
    data = {"external_id": "C1", "name": "王芳", "phone": "+86 138-0013-8000"}
    customer, status = services.upsert_customer(data=data, actor=owner)
    assert status == "created" and customer.phone == "13800138000"
    created = _audits("customer.created").get()
    assert created.actor == owner and created.object_id == str(customer.pk)
    assert created.after == {"external_id": "C1", "name": "王芳", "phone": "13800138000"}

    assert services.upsert_customer(data=data, actor=owner)[1] == "unchanged"
    stamp = Customer.objects.get().updated_at
    assert not _audits("customer.updated").exists()

    customer, status = services.upsert_customer(
        data={"external_id": "C1", "name": "王芳芳", "phone": ""}, actor=owner
    )
    assert status == "updated"
    assert customer.name == "王芳芳" and customer.phone == "13800138000"  # blank keeps the value
    assert customer.updated_at > stamp
    updated = _audits("customer.updated").get()
    assert updated.before == {"name": "王芳"} and updated.after == {"name": "王芳芳"}


@pytest.mark.django_db
def test_upsert_customer_refuses_bad_values(owner):
    with pytest.raises(ValidationError) as exc:
        services.upsert_customer(data={"external_id": "C1", "email": "nope"}, actor=owner)
    assert "email" in exc.value.message_dict
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_update_customer_audits_changed_fields_only(owner):
    customer, _ = services.upsert_customer(
        data={"external_id": "C1", "region": "华东"}, actor=owner
    )
    services.update_customer(
        customer=customer, changes={"region": "华南", "store": ""}, actor=owner
    )
    customer.refresh_from_db()
    assert customer.region == "华南"
    audit = _audits("customer.updated").get()
    assert audit.before == {"region": "华东"} and audit.after == {"region": "华南"}
    services.update_customer(customer=customer, changes={"region": "华南"}, actor=owner)
    assert _audits("customer.updated").count() == 1
    with pytest.raises(ValueError):
        services.update_customer(customer=customer, changes={"external_id": "X"}, actor=owner)


@pytest.mark.django_db
def test_bulk_upsert_customers_counts_and_reports_bad_rows(owner):
    rows = [{"external_id": f"C{i}", "name": f"n{i}"} for i in range(5)]
    rows.append({"external_id": "C9", "phone": "12"})
    summary = services.bulk_upsert_customers(rows=rows, actor=owner)
    assert (summary.created, summary.updated, summary.unchanged, summary.bad_rows) == (5, 0, 0, 1)
    assert summary.errors[0]["row"] == 5 and summary.errors[0]["column"] == "phone"
    assert _audits("customer.created").count() == 5

    rows[0]["name"] = "changed"
    summary = services.bulk_upsert_customers(rows=rows[:5], actor=owner)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 4)
    assert Customer.objects.count() == 5


@pytest.mark.django_db
def test_bulk_upsert_spans_several_batches(owner, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 3)
    rows = [{"external_id": f"C{i}", "tags": "a,b"} for i in range(8)]
    assert services.bulk_upsert_customers(rows=rows, actor=owner).created == 8
    assert Customer.objects.filter(tags=["a", "b"]).count() == 8


@pytest.mark.django_db
def test_duplicate_ids_in_one_request_merge_into_one_row(owner):
    rows = [
        {"external_id": "C1", "name": "a"},
        {"external_id": "C1", "region": "华东"},
        {"external_id": "C1", "region": "华东"},
    ]
    summary = services.bulk_upsert_customers(rows=rows, actor=owner)
    assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 1)
    customer = Customer.objects.get()
    assert (customer.name, customer.region) == ("a", "华东")


def _order(external_id="O1", **extra):
    return {
        "external_id": external_id,
        "customer_external_id": "C1",
        "amount": "128.50",
        "placed_at": "2024-05-01 10:30:00",
        **extra,
    }


@pytest.mark.django_db
def test_bulk_upsert_orders(owner):
    services.upsert_customer(data={"external_id": "C1"}, actor=owner)
    rows = [_order("O1", channel="门店"), _order("O2", customer_external_id="C404")]
    summary = services.bulk_upsert_orders(rows=rows, actor=owner, row_numbers=[2, 3])
    assert summary.created == 1 and summary.bad_rows == 1
    assert summary.errors == [
        {"row": 3, "column": "customer_external_id", "value": "C404", "reason": UNKNOWN_CUSTOMER}
    ]
    order = Order.objects.get()
    assert order.amount_fen == 12850 and order.channel == "store" and order.status == "placed"
    assert order.placed_at == dt.datetime(2024, 5, 1, 2, 30, tzinfo=dt.UTC)

    summary = services.bulk_upsert_orders(rows=[_order("O1", status="已送达")], actor=owner)
    assert (summary.created, summary.updated) == (0, 1)
    order.refresh_from_db()
    assert order.status == "delivered" and order.channel == "store"
    assert services.bulk_upsert_orders(rows=[_order("O1")], actor=owner).unchanged == 1


@pytest.mark.django_db
def test_upsert_order_single(owner):
    services.upsert_customer(data={"external_id": "C1"}, actor=owner)
    order, status = services.upsert_order(data=_order(amount_fen=100, amount=None), actor=owner)
    assert status == "created" and order.amount_fen == 100
    with pytest.raises(ValidationError):
        services.upsert_order(data=_order(amount="-1"), actor=owner)


@pytest.mark.django_db
def test_insert_race_falls_back_to_upsert(owner, monkeypatch):
    """An id created by someone else between our lookup and our insert is updated, not lost."""
    services.upsert_customer(data={"external_id": "C1"}, actor=owner)
    services.bulk_upsert_orders(rows=[_order("O1")], actor=owner)
    monkeypatch.setattr(upsert_sql, "stored_rows", _orders_look_new(upsert_sql.stored_rows))
    summary = services.bulk_upsert_orders(rows=[_order("O1", amount="1")], actor=owner)
    assert summary.created == 1  # what it believed
    assert Order.objects.get().amount_fen == 100


def _orders_look_new(real_stored_rows):
    def stored_rows(model, fields, keys):
        return {} if model is Order else real_stored_rows(model, fields, keys)

    return stored_rows
