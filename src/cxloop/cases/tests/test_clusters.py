"""Low-score clusters of cases: reopened East cases name logistics; the page and API scope the
set to what the user may count, show examples only to case readers, and refuse bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.cases import clusters, text
from cxloop.cases.models import Case

pytestmark = pytest.mark.django_db
LATE = ("快递一周没到", "订单显示已发货，物流一直不更新，快递员电话打不通。")
BROKEN = ("质量太差", "用了两天就坏了，做工很差，要求换货。")
FINE = ("咨询发票", "请问发票怎么开，谢谢。")


@pytest.fixture
def cases(make_case, categories):
    plan = [
        ("华东", LATE, 20, 18), ("华东", FINE, 20, 0),
        ("华南", BROKEN, 20, 2), ("华南", FINE, 20, 0),
    ]  # fmt: skip
    for region, (subject, description), count, reopened in plan:
        for i in range(count):
            case = make_case(
                region=region, store=f"{region}店", subject=subject, description=description,
                category=categories["logistics" if subject == LATE[0] else "product"],
            )  # fmt: skip
            if i < reopened:
                Case.objects.filter(pk=case.pk).update(reopen_count=1)
    text.analyse_pending()
    return Case.objects.all()


def test_reopened_east_cases_name_logistics(owner, cases):
    report = clusters.case_clusters(user=owner, by="region", low="reopened")
    assert (report.texts, report.low_texts) == (80, 20)
    places = {block.place: block for block in report.places}
    east = {row.term: row for row in places["华东"].rows}
    assert "logistics" in east and east["logistics"].low_hits == 18
    assert east["logistics"].lift == pytest.approx((18 / 18) / ((20 + 0.5) / 81))
    assert east["logistics"].examples[0].startswith(LATE[0])
    assert "logistics" not in {row.term for row in places["华南"].rows}


def test_a_handler_counts_only_their_departments(handler, cases):
    # The handler works in logistics: only the logistics cases (the late deliveries) count.
    report = clusters.case_clusters(user=handler, by="region", low="reopened")
    assert report.texts == 20 and report.low_texts == 18


def test_filters_and_labels(owner, cases, categories):
    by_channel = clusters.case_clusters(user=owner, by="channel", low="reopened")
    assert [block.label for block in by_channel.places] == ["Hotline"]
    only = clusters.case_clusters(
        user=owner, by="region", low="reopened", category_id=categories["product"].pk
    )
    assert only.texts == 60 and only.low_texts == 2  # every case but the late deliveries
    assert clusters.case_clusters(user=owner, by="tier", low="major", channel="chat").texts == 0


def _url():
    return reverse("case_metrics:clusters")


def test_page(owner_client, cases):
    page = owner_client.get(_url(), {"by": "region", "low": "reopened"})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-place="华东"' in html and 'data-term="logistics"' in html and LATE[1] in html


def test_page_bad_input_and_permissions(owner_client, outsider_client, client, cases):
    bad = owner_client.get(_url(), {"by": "moon", "start": "2026-02-01", "end": "2026-01-01"})
    assert bad.status_code == 400 and "Must not be before the start date." in bad.content.decode()
    assert outsider_client.get(_url()).status_code == 403
    assert client.get(_url()).status_code == 302


def test_api(owner, outsider, cases):
    api = ApiClient(make_token(owner))
    body = api.get("/cases/clusters", {"by": "region", "low": "reopened"}).json()
    east = next(place for place in body["places"] if place["place"] == "华东")
    assert {f["term"] for f in east["findings"]} >= {"logistics"}
    assert body["texts"] == 80 and body["low"] == "reopened"
    by_code = api.get("/cases/clusters", {"low": "reopened", "category": "logistics-test"}).json()
    assert by_code["texts"] == 20
    assert api.get("/cases/clusters", {"category": "nope"}).json()["texts"] == 0
    assert api.get("/cases/clusters", {"by": "moon"}).status_code == 422
    assert api.get("/cases/clusters", {"from": "2026-02-01", "to": "2026-01-01"}).status_code == 422
    assert ApiClient(make_token(outsider)).get("/cases/clusters").status_code == 403


def test_page_export(owner_client, cases):
    csv = owner_client.get(_url(), {"by": "region", "format": "csv"})
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Region,Kind,Term,Lift")
    assert any(line.startswith("华东,aspect,Logistics,") for line in lines)
