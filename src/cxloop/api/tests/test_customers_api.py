"""/api/v1/customers: list with filters and cursor, read with PII masking, upsert, bulk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.core.models import AuditLog
from cxloop.customers.models import Customer

pytestmark = pytest.mark.django_db


def _customer(external_id: str, **fields) -> Customer:
    defaults = {"name": "王伟", "phone": "13812345678", "email": "wang@example.com"}
    return Customer.objects.create(external_id=external_id, **{**defaults, **fields})


def test_list_pages_with_cursor(owner_api):
    for n in range(5):
        _customer(f"C{n}")
    first = owner_api.get("/customers", {"limit": 2}).json()
    assert [c["external_id"] for c in first["items"]] == ["C0", "C1"]
    second = owner_api.get("/customers", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["external_id"] for c in second["items"]] == ["C2", "C3"]
    last = owner_api.get("/customers", {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [c["external_id"] for c in last["items"]] == ["C4"]
    assert last["next_cursor"] is None


def test_list_filters(owner_api):
    _customer("C1", region="华东", store="上海徐汇店", name="王伟")
    _customer("C2", region="华南", store="广州天河店", name="李娜")
    old = _customer("C3", region="华东", store="杭州西湖店", name="张强")
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - dt.timedelta(days=30))

    def ids(**params):
        return [c["external_id"] for c in owner_api.get("/customers", params).json()["items"]]

    assert ids(region="华东") == ["C1", "C3"]
    assert ids(store="广州天河店") == ["C2"]
    assert ids(q="李") == ["C2"]
    assert ids(q="C3") == ["C3"]
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert ids(updated_since=since) == ["C1", "C2"]


def test_bad_cursor_is_422(owner_api):
    response = owner_api.get("/customers", {"cursor": "abc"})
    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]


def test_limit_is_bounded(owner_api):
    assert owner_api.get("/customers", {"limit": 501}).status_code == 422
    assert owner_api.get("/customers", {"limit": 0}).status_code == 422


def test_get_one_with_pii_for_owner(owner_api):
    _customer("C1", birthday=dt.date(1990, 5, 1))
    body = owner_api.get("/customers/C1").json()
    assert body["phone"] == "13812345678"
    assert body["email"] == "wang@example.com"
    assert body["birthday"] == "1990-05-01"


def test_pii_masked_for_analyst(analyst_api):
    _customer("C1", birthday=dt.date(1990, 5, 1))
    body = analyst_api.get("/customers/C1").json()
    assert body["phone"] == "138****5678"
    assert body["email"] == "w***@example.com"
    assert body["birthday"] is None
    listed = analyst_api.get("/customers").json()["items"][0]
    assert listed["phone"] == "138****5678"


def test_analyst_cannot_search_by_phone(analyst_api, owner_api):
    _customer("C1")
    assert analyst_api.get("/customers", {"q": "13812345678"}).json()["items"] == []
    assert len(owner_api.get("/customers", {"q": "13812345678"}).json()["items"]) == 1


def test_unknown_customer_is_json_404(owner_api):
    response = owner_api.get("/customers/NOPE")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_put_creates_then_updates_then_unchanged(owner_api, owner):
    body = {"name": "王伟", "phone": "+86 138-1234-5678", "tags": ["偏好性价比"]}
    created = owner_api.put("/customers/C1", body)
    assert created.status_code == 201
    assert created.json()["result"] == "created"
    assert created.json()["customer"]["phone"] == "13812345678"  # normalised by the validator
    updated = owner_api.put("/customers/C1", {"region": "华东"})
    assert updated.status_code == 200 and updated.json()["result"] == "updated"
    same = owner_api.put("/customers/C1", {"region": "华东"})
    assert same.json()["result"] == "unchanged"
    customer = Customer.objects.get(external_id="C1")
    assert (customer.name, customer.region, customer.tags) == ("王伟", "华东", ["偏好性价比"])
    actions = list(AuditLog.objects.filter(actor=owner).values_list("action", flat=True))
    assert sorted(actions) == ["customer.created", "customer.updated"]


def test_put_reports_bad_fields(owner_api):
    response = owner_api.put("/customers/C1", {"phone": "123", "email": "nope", "birthday": "x"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"phone", "email", "birthday"}
    assert all(
        messages and all(isinstance(m, str) for m in messages) for messages in errors.values()
    )
    assert not Customer.objects.exists()


def test_put_with_other_id_in_body_is_422(owner_api):
    response = owner_api.put("/customers/C1", {"external_id": "C2"})
    assert response.status_code == 422
    assert "external_id" in response.json()["errors"]


def test_bulk_saves_good_rows_and_reports_bad_ones(owner_api):
    _customer("C1", name="王伟")
    _customer("C2", name="李娜")
    rows = [
        {"external_id": "C1", "name": "王伟"},  # unchanged
        {"external_id": "C2", "name": "李娜娜"},  # updated
        {"external_id": "C3", "name": "新客"},  # created
        {"external_id": "C4", "phone": "12"},  # bad phone
        {"external_id": "C5", "colour": "red"},  # unknown field
        "not a row",
    ]
    response = owner_api.post("/customers/bulk", {"rows": rows})
    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"created": 1, "updated": 1, "unchanged": 1, "failed": 3}
    results = [(r["row"], r["external_id"], r["result"]) for r in body["rows"]]
    assert results[:3] == [(0, "C1", "unchanged"), (1, "C2", "updated"), (2, "C3", "created")]
    assert body["rows"][3]["errors"].keys() == {"phone"}
    assert body["rows"][4]["errors"].keys() == {"colour"}
    assert body["rows"][5]["result"] == "error"
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"C1", "C2", "C3"}
    assert Customer.objects.get(external_id="C2").name == "李娜娜"


def test_bulk_all_bad_is_422_with_report(owner_api):
    response = owner_api.post("/customers/bulk", {"rows": [{"external_id": ""}, {"phone": "1"}]})
    assert response.status_code == 422
    body = response.json()
    assert body["summary"]["failed"] == 2
    assert "rows.0.external_id" in body["errors"] and "rows.1.external_id" in body["errors"]
    assert not Customer.objects.exists()


def test_bulk_too_many_rows_is_413(owner_api):
    rows = [{"external_id": f"C{n}"} for n in range(1001)]
    response = owner_api.post("/customers/bulk", {"rows": rows})
    assert response.status_code == 413
    assert not Customer.objects.exists()


def test_bulk_needs_add_and_change(teammate_api):
    response = teammate_api.post("/customers/bulk", {"rows": [{"external_id": "C1"}]})
    assert response.status_code == 403
