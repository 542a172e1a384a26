import csv
import datetime as dt

import openpyxl
import pytest

from cxloop.core.models import AuditLog
from cxloop.customers import importing, validation
from cxloop.customers.models import Customer, ImportJob, Order
from cxloop.customers.tasks import run_import_task

CUSTOMER_HEADER = [
    "客户编号", "姓名", "手机", "邮箱", "生日", "注册日期", "区域", "门店", "同意调研", "标签"
]  # fmt: skip
CUSTOMER_ROWS = [
    [
        "C001",
        "王芳",
        "138 0013 8000",
        "wf@example.com",
        "1990-01-02",
        "2023/5/6",
        "华东",
        "上海徐汇店",
        "是",
        "关注高端款，偏好性价比",
    ],  # fmt: skip
    ["C002", "李强", "+8613900139000", "", "", "2023-06-07", "华南", "广州天河店", "否", ""],
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def write_csv(path, header, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path, header, rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def errors_by_column(job):
    return {error["column"]: error for error in job.errors}


@pytest.mark.django_db
def test_csv_import_is_idempotent(tmp_path, owner):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, CUSTOMER_ROWS)
    job = importing.import_path(kind="customers", path=path, actor=owner)
    assert job.status == ImportJob.Status.DONE, job.message
    assert (job.created_count, job.updated_count, job.error_count) == (2, 0, 0)
    wang = Customer.objects.get(external_id="C001")
    assert (wang.name, wang.phone, wang.birthday) == ("王芳", "13800138000", dt.date(1990, 1, 2))
    assert wang.registered_at == dt.date(2023, 5, 6) and wang.consent_survey is True
    assert wang.tags == ["关注高端款", "偏好性价比"]
    assert job.mapping["手机"] == "phone" and job.mapping["客户编号"] == "external_id"

    again = importing.import_path(kind="customers", path=path, actor=owner)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 2)
    assert Customer.objects.count() == 2
    assert AuditLog.objects.filter(action="import.finished").count() == 2


@pytest.mark.django_db
def test_changed_row_is_updated_with_an_audit_row(tmp_path, owner):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, CUSTOMER_ROWS)
    importing.import_path(kind="customers", path=path, actor=owner)
    changed = [list(CUSTOMER_ROWS[0]), CUSTOMER_ROWS[1]]
    changed[0][6] = "华北"
    write_csv(path, CUSTOMER_HEADER, changed)
    job = importing.import_path(kind="customers", path=path, actor=owner)
    assert (job.updated_count, job.unchanged_count) == (1, 1)
    audit = AuditLog.objects.get(action="customer.updated")
    assert audit.actor == owner
    assert audit.before == {"region": "华东"} and audit.after == {"region": "华北"}


@pytest.mark.django_db
def test_error_report_names_row_column_and_reason(tmp_path, owner):
    header = ["客户编号", "手机", "生日", "同意营销"]
    rows = [
        ["C1", "13800138000", "1990-01-01", "是"],  # row 2: good
        ["C2", "12345", "1990-01-01", "是"],  # row 3: bad phone
        ["C3", "13800138001", "1990-13-01", "否"],  # row 4: bad date
        ["", "13800138002", "1990-01-01", "否"],  # row 5: missing external id
        ["C5", "13800138003", "", "maybe"],  # row 6: bad bool
        ["C6", "", "", ""],  # row 7: good
    ]
    job = importing.import_path(kind="customers", path=write_csv(tmp_path / "c.csv", header, rows))
    assert job.status == "done" and job.created_count == 2 and job.error_count == 4
    found = {(e["row"], e["column"], e["reason"]) for e in job.errors}
    assert found == {
        (3, "手机", validation.BAD_PHONE),
        (4, "生日", validation.BAD_DATE),
        (5, "客户编号", validation.REQUIRED),
        (6, "同意营销", validation.BAD_BOOL),
    }
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"C1", "C6"}
    assert errors_by_column(job)["手机"]["value"] == "12345"


@pytest.mark.django_db
def test_order_import_with_bad_rows(tmp_path, owner):
    Customer.objects.create(external_id="C1")
    header = ["订单号", "客户编号", "金额", "下单时间", "送达时间", "渠道", "状态"]
    rows = [
        ["O1", "C1", "128.50", "2024-05-01 10:30:00", "2024/5/2 9:00", "门店", "已送达"],
        ["O2", "C1", "-3", "2024-05-01 10:30:00", "", "线上", "已完成"],
        ["O3", "C404", "10", "2024-05-01 10:30:00", "", "线上", "已完成"],
        ["O4", "C1", "10", "not a time", "", "线上", "已完成"],
    ]
    job = importing.import_path(kind="orders", path=write_csv(tmp_path / "o.csv", header, rows))
    assert (job.created_count, job.error_count) == (1, 3)
    assert {(e["row"], e["column"], e["reason"]) for e in job.errors} == {
        (3, "金额", validation.NEGATIVE_AMOUNT),
        (4, "客户编号", validation.UNKNOWN_CUSTOMER),
        (5, "下单时间", validation.BAD_DATETIME),
    }
    order = Order.objects.get()
    assert (order.amount_fen, order.channel, order.status) == (12850, "store", "delivered")
    assert order.delivered_at == dt.datetime(2024, 5, 2, 1, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_xlsx_with_date_cells_and_numbers(tmp_path):
    header = ["Customer ID", "Name", "Mobile", "Birthday", "Registered", "Consent survey"]
    rows = [
        [10001, "Ann", 13800138000, dt.datetime(1991, 2, 3), dt.date(2024, 1, 5), True],
        ["10002", "Bob", "139-0013-9000", "1992/3/4", None, "no"],
    ]
    path = write_xlsx(tmp_path / "c.xlsx", header, rows)
    job = importing.import_path(kind="customers", path=path)
    assert job.status == "done" and job.created_count == 2, job.errors
    ann = Customer.objects.get(external_id="10001")
    assert (ann.phone, ann.birthday, ann.registered_at) == (
        "13800138000", dt.date(1991, 2, 3), dt.date(2024, 1, 5)
    )  # fmt: skip
    assert ann.consent_survey is True
    assert Customer.objects.get(external_id="10002").birthday == dt.date(1992, 3, 4)


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_csv_encodings(tmp_path, encoding):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, CUSTOMER_ROWS, encoding=encoding)
    job = importing.import_path(kind="customers", path=path)
    assert job.created_count == 2, (job.message, job.errors)
    assert Customer.objects.get(external_id="C002").name == "李强"


@pytest.mark.django_db
def test_gbk_file_whose_chinese_starts_late(tmp_path):
    rows = [[f"C{i}", f"name{i}"] for i in range(3000)] + [["Z1", "张三"]]
    path = write_csv(tmp_path / "c.csv", ["客户编号", "姓名"], rows, encoding="gbk")
    job = importing.import_path(kind="customers", path=path)
    assert job.created_count == 3001
    assert Customer.objects.get(external_id="Z1").name == "张三"


def test_auto_mapping_recognises_english_and_chinese_headers():
    headers = [
        "订单编号",
        "会员号",
        "订单金额（元）",
        "下单时间",
        "Delivered at",
        "CHANNEL",
        "备注",
    ]
    assert importing.detect_mapping(headers, "orders") == {
        "订单编号": "external_id",
        "会员号": "customer_external_id",
        "订单金额（元）": "amount",
        "下单时间": "placed_at",
        "Delivered at": "delivered_at",
        "CHANNEL": "channel",
    }
    assert importing.detect_mapping(["*手机号码", "E-mail", "external_id"], "customers") == {
        "*手机号码": "phone",
        "E-mail": "email",
        "external_id": "external_id",
    }


@pytest.mark.django_db
def test_explicit_mapping_overrides_detection(tmp_path):
    header = ["编号", "备用电话", "手机"]
    path = write_csv(tmp_path / "c.csv", header, [["C1", "13800138000", "bad"]])
    job = importing.import_path(
        kind="customers", path=path, mapping={"备用电话": "phone", "手机": ""}
    )
    assert job.created_count == 1 and job.error_count == 0
    assert Customer.objects.get().phone == "13800138000"


@pytest.mark.django_db
def test_missing_required_column_fails_the_job(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["订单号", "金额"], [["O1", "1"]])
    job = importing.import_path(kind="orders", path=path)
    assert job.status == ImportJob.Status.FAILED
    assert "customer_external_id" in job.message and "placed_at" in job.message


@pytest.mark.django_db
def test_unreadable_files_fail_with_a_message(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a zip")
    job = importing.import_path(kind="customers", path=bad)
    assert job.status == "failed" and job.message
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    assert importing.import_path(kind="customers", path=empty).status == "failed"


@pytest.mark.django_db
def test_progress_callback_and_error_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_SIZE", 10)
    monkeypatch.setattr(importing, "MAX_STORED_ERRORS", 5)
    rows = [[f"C{i}", "bad phone" if i % 2 else "13800138000"] for i in range(40)]
    calls, seen = [], []
    job = importing.import_path(
        kind="customers",
        path=write_csv(tmp_path / "c.csv", ["客户编号", "手机"], rows),
        progress=lambda done, total: calls.append((done, total)),
        on_errors=seen.extend,
    )
    assert calls == [(10, 40), (20, 40), (30, 40), (40, 40)]
    assert job.processed_rows == job.total_rows == 40
    assert job.error_count == 20 and len(job.errors) == 5 and len(seen) == 20
    assert "5" in job.message


@pytest.mark.django_db
def test_blank_lines_are_skipped_but_row_numbers_stay_true(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("客户编号,手机\nC1,13800138000\n\n,,\nC2,bad\n", encoding="utf-8")
    job = importing.import_path(kind="customers", path=path)
    assert job.created_count == 1 and [e["row"] for e in job.errors] == [5]


@pytest.mark.django_db
def test_start_import_queues_the_task_which_runs_once(
    tmp_path, owner, media_root, django_capture_on_commit_callbacks
):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, CUSTOMER_ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        job = importing.start_import(kind="customers", path=path, actor=owner)
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 2 and job.created_by == owner
    assert path.exists()  # the caller's file is copied, not moved
    assert not list((media_root / "imports").iterdir())  # the stored copy is gone once done

    run_import_task.call_local(job.pk)  # a second delivery changes nothing
    job.refresh_from_db()
    assert job.created_count == 2
    assert AuditLog.objects.filter(action="import.finished").count() == 1


@pytest.mark.django_db
def test_queue_down_fails_the_job_with_a_message(
    tmp_path, owner, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(job_id):
        raise ConnectionError("redis is down")

    monkeypatch.setattr("cxloop.customers.tasks.run_import_task", broken)
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, CUSTOMER_ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        job = importing.start_import(kind="customers", path=path, actor=owner)
    job.refresh_from_db()
    assert job.status == "failed" and "queued" in job.message
    assert not Customer.objects.exists()
