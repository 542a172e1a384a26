import csv
import datetime as dt
import io

import openpyxl
import pytest

from cxloop.core.models import AuditLog
from cxloop.customers import exporting, importing, services
from cxloop.customers.models import Customer, Order


@pytest.fixture
def data(owner):
    services.bulk_upsert_customers(
        rows=[
            {"external_id": "C1", "name": "王芳", "phone": "13800138000", "email": "wf@example.com",
             "tags": "关注高端款,偏好性价比", "consent_survey": "是", "birthday": "1990-01-02"},
            {"external_id": "C2", "name": "=HYPERLINK(\"x\")", "region": "华南"},
        ],
        actor=owner,
    )  # fmt: skip
    services.bulk_upsert_orders(
        rows=[
            {"external_id": "O1", "customer_external_id": "C1", "amount": "128.50",
             "placed_at": "2024-05-01 10:30:00", "channel": "线上", "status": "已完成"},
            {"external_id": "O2", "customer_external_id": "C2", "amount": "9",
             "placed_at": "2024-06-01 23:30:00"},
        ],
        actor=owner,
    )  # fmt: skip


def read_csv(content: bytes) -> list[dict]:
    assert content.startswith("\ufeff".encode())  # BOM so Excel reads Chinese right
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def csv_export(kind, show_pii, filters=None):
    out = io.BytesIO()
    exporting.write_export(kind=kind, fmt="csv", out=out, show_pii=show_pii, filters=filters)
    return read_csv(out.getvalue())


@pytest.mark.django_db
def test_customers_csv_with_and_without_pii(data):
    full = {row["external_id"]: row for row in csv_export("customers", show_pii=True)}
    assert full["C1"]["phone"] == "13800138000" and full["C1"]["email"] == "wf@example.com"
    assert full["C1"]["tags"] == "关注高端款,偏好性价比" and full["C1"]["birthday"] == "1990-01-02"
    assert full["C2"]["name"] == '\'=HYPERLINK("x")'  # not run as a formula by Excel

    masked = {row["external_id"]: row for row in csv_export("customers", show_pii=False)}
    assert masked["C1"]["phone"] == "138****8000"
    assert masked["C1"]["email"] == "w***@example.com"


@pytest.mark.django_db
def test_orders_csv_in_yuan_and_local_time(data):
    rows = {row["external_id"]: row for row in csv_export("orders", show_pii=False)}
    assert rows["O1"]["amount"] == "128.50" and rows["O2"]["amount"] == "9.00"
    assert rows["O1"]["placed_at"] == "2024-05-01 10:30:00"
    assert rows["O1"]["customer_external_id"] == "C1" and rows["O1"]["channel"] == "online"


@pytest.mark.django_db
def test_filters(data):
    assert [r["external_id"] for r in csv_export("customers", True, {"region": "华南"})] == ["C2"]
    june = {"date_from": dt.date(2024, 6, 1), "date_to": dt.date(2024, 6, 1)}
    assert [r["external_id"] for r in csv_export("orders", True, june)] == ["O2"]


@pytest.mark.django_db
def test_xlsx_export(data):
    out = io.BytesIO()
    exporting.write_export(kind="orders", fmt="xlsx", out=out, show_pii=False)
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("external_id", "customer_external_id", "amount")
    assert {row[0]: float(row[2]) for row in rows[1:]} == {"O1": 128.5, "O2": 9.0}

    out = io.BytesIO()
    exporting.write_export(kind="customers", fmt="xlsx", out=out, show_pii=False)
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert cells["C2"].data_type == "s" and cells["C2"].value == '=HYPERLINK("x")'
    assert cells["C1"].value == "王芳"


@pytest.mark.django_db
def test_export_imports_back_unchanged(data, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    for kind, fmt in [("customers", "xlsx"), ("orders", "xlsx"), ("customers", "csv")]:
        path = tmp_path / f"{kind}.{fmt}"
        with open(path, "wb") as out:
            exporting.write_export(kind=kind, fmt=fmt, out=out, show_pii=True)
        job = importing.import_path(kind=kind, path=path)
        assert job.unchanged_count == 2 and job.error_count == 0, job.errors
    assert Customer.objects.count() == 2 and Order.objects.count() == 2


@pytest.mark.django_db
def test_export_response_masks_for_analyst_and_is_audited(data, analyst, owner):
    response = exporting.export_response(kind="customers", fmt="csv", user=analyst)
    rows = read_csv(b"".join(response.streaming_content))
    assert {row["phone"] for row in rows} == {"138****8000", ""}
    audit = AuditLog.objects.get(action="data.exported")
    assert audit.actor == analyst and audit.after["pii"] is False

    response = exporting.export_response(kind="customers", fmt="csv", user=owner)
    assert "13800138000" in b"".join(response.streaming_content).decode("utf-8-sig")
