"""``cxloop import`` / ``cxloop export`` through the real command-line entry point."""

from __future__ import annotations

import csv

import pytest

from cxloop.cli import main
from cxloop.customers.models import Customer


@pytest.fixture
def customers_csv(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "客户编号,姓名,手机号,生日\n"
        "C1,张三,13812341234,1990-01-02\n"
        "C2,李四,12345,1991-02-03\n"
        "C3,王五,13900001111,not-a-date\n"
        "C4,赵六,13700002222,1992-03-04\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.django_db(transaction=True)
def test_import_reports_bad_rows_and_keeps_good_ones(customers_csv, tmp_path, capsys):
    errors_file = tmp_path / "bad.csv"
    code = main(["import", "customers", str(customers_csv), "--errors", str(errors_file)])
    out = capsys.readouterr().out
    assert code == 0
    assert "2 created" in out and "2 bad rows" in out
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"C1", "C4"}
    with errors_file.open(encoding="utf-8-sig") as handle:
        bad = list(csv.DictReader(handle))
    assert [(row["row"], row["column"]) for row in bad] == [("3", "手机号"), ("4", "生日")]

    assert main(["import", "customers", str(customers_csv)]) == 0
    assert "2 unchanged" in capsys.readouterr().out
    assert Customer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_import_with_explicit_mapping_and_bad_arguments(tmp_path, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("编号X,称呼\nK9,周七\n", encoding="utf-8")
    assert main(["import", "customers", str(path), "--map", "编号X=external_id"]) == 0
    assert Customer.objects.filter(external_id="K9").exists()
    assert main(["import", "customers", str(path), "--map", "nonsense"]) == 2
    assert main(["import", "customers", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_export_writes_csv_and_xlsx(customers_csv, tmp_path):
    main(["import", "customers", str(customers_csv)])
    target = tmp_path / "out.csv"
    assert main(["export", "customers", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8-sig")
    assert "13812341234" in text and "C4" in text
    xlsx = tmp_path / "out.xlsx"
    assert main(["export", "customers", "--format", "xlsx", "-o", str(xlsx)]) == 0
    assert xlsx.read_bytes()[:2] == b"PK"
