"""/api/v1/ideas: submit (idempotent by external_ref), list with filters and pages, 4xx JSON."""

from __future__ import annotations

import pytest

from cxloop.api.tests.conftest import ApiClient
from cxloop.programs import services
from cxloop.programs.models import Idea

pytestmark = pytest.mark.urls("cxloop.programs.tests.api_urls")
BODY = {
    "title": "夜间配送",
    "body": "希望晚上九点后也能配送生鲜，服务很好。",
    "store": "上海徐汇店",
}


@pytest.mark.django_db
def test_post_is_idempotent_by_external_ref(owner_api, customer):
    body = BODY | {"external_ref": "app-1", "customer": "c-1"}
    first = owner_api.post("/ideas", body)
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["channel"] == "api" and data["customer"] == "c-1"
    assert data["sentiment"] is not None and isinstance(data["aspects"], list)
    again = owner_api.post("/ideas", body | {"title": "changed"})
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    assert Idea.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field",
    [
        ({"body": "短"}, "body"),
        ({"customer": "nobody"}, "customer"),
        ({"title": "x" * 201}, "title"),
        ({"extra": 1}, "extra"),
        ({"store": "a\x00b"}, "store"),
    ],
)
def test_bad_input_is_422_per_field(owner_api, change, field):
    reply = owner_api.post("/ideas", BODY | change)
    assert reply.status_code == 422, reply.content
    assert any(field in key for key in reply.json()["errors"])


@pytest.mark.django_db
def test_not_json_is_4xx(owner_api):
    reply = owner_api.post("/ideas", raw="{not json")
    assert reply.status_code == 400 and "detail" in reply.json()


@pytest.mark.django_db
def test_list_filters_and_pages(owner_api, owner):
    for n in range(3):
        services.submit_idea(
            title=f"想法{n}",
            body="服务态度很好，非常满意。",
            channel="api",
            store="A" if n else "B",
        )
    chosen = Idea.objects.filter(store="B").get()
    services.choose_weekly_best(idea=chosen, actor=owner)
    page = owner_api.get("/ideas", {"limit": 2})
    assert page.status_code == 200
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    rest = owner_api.get("/ideas", {"limit": 2, "cursor": page.json()["next_cursor"]})
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    by_store = owner_api.get("/ideas", {"store": "A"}).json()["items"]
    assert {i["store"] for i in by_store} == {"A"} and len(by_store) == 2
    by_status = owner_api.get("/ideas", {"status": "chosen"}).json()["items"]
    assert [i["id"] for i in by_status] == [chosen.pk] and by_status[0]["week"]
    assert owner_api.get("/ideas", {"status": "nope"}).status_code == 422
    assert owner_api.get("/ideas", {"week": "W1"}).status_code == 422
    assert owner_api.get("/ideas", {"cursor": "abc"}).status_code == 422


@pytest.mark.django_db
def test_permissions(analyst_api, outsider_api):
    assert analyst_api.get("/ideas").status_code == 200
    assert analyst_api.post("/ideas", BODY).status_code == 403
    assert outsider_api.get("/ideas").status_code == 403
    assert outsider_api.post("/ideas", BODY).status_code == 403
    assert ApiClient().get("/ideas").status_code == 401


@pytest.mark.django_db
def test_phone_masked_without_pii_permission(analyst_api, owner_api):
    services.submit_idea(
        title="想法", body="一个很好的想法内容", channel="public", contact_phone="13800138000"
    )
    assert owner_api.get("/ideas").json()["items"][0]["contact_phone"] == "13800138000"
    assert analyst_api.get("/ideas").json()["items"][0]["contact_phone"] != "13800138000"
