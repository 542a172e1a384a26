"""Console pages: who may open each one, the actions from the console, bad input as 400."""

from __future__ import annotations

import datetime as dt

import pytest

from cxloop.programs import audits, services
from cxloop.programs.models import Idea, ImprovementAction, MysteryAudit

OWN, TEAM, ANA, OUT = "owner", "teammate", "analyst", "outsider"
# page → the users who may open it (everyone else gets 403)
PAGES = {
    "/programs/ideas/": {OWN, TEAM, ANA},
    "/programs/ideas/submit/": {OWN, TEAM},
    "/programs/ideas/{idea}/": {OWN, TEAM, ANA},
    "/programs/improvements/": {OWN, TEAM, ANA},
    "/programs/improvements/new/": {OWN},
    "/programs/improvements/{action}/": {OWN, TEAM, ANA},
    "/programs/audits/": {OWN, TEAM, ANA},
    "/programs/audits/{audit}/": {OWN, TEAM, ANA},
    "/programs/audits/new/{template}/": {OWN, TEAM},
    "/programs/audits/scores/": {OWN, TEAM, ANA},
    "/programs/audits/templates/": {OWN, TEAM, ANA},
    "/programs/audits/templates/new/": {OWN},
    "/programs/audits/templates/{template}/": {OWN},
}


@pytest.fixture
def world(owner, template):
    idea = services.submit_idea(title="想法", body="服务态度很好，非常满意。", channel="public")[0]
    action = services.create_action(actor=owner, title="加开收银台")
    items = template.items.all()
    audit = audits.record_audit(
        actor=owner,
        template=template,
        store="上海徐汇店",
        visited_at=dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC),
        scores={item.pk: {"score": 1, "comment": ""} for item in items},
    )
    return {"idea": idea.pk, "action": action.pk, "audit": audit.pk, "template": template.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_page_permissions(
    page, world, owner_client, teammate_client, analyst_client, outsider_client
):
    clients = {OWN: owner_client, TEAM: teammate_client, ANA: analyst_client, OUT: outsider_client}
    url = page.format(**world)
    for who, client in clients.items():
        expected = 200 if who in PAGES[page] else 403
        assert client.get(url).status_code == expected, (who, url)


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, world):
    reply = client.get("/programs/ideas/")
    assert reply.status_code == 302 and "login" in reply["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("move", ["shortlist", "choose", "reject"])
def test_only_change_idea_may_decide(
    move, world, owner_client, teammate_client, analyst_client, outsider_client
):
    url = f"/programs/ideas/{world['idea']}/{move}/"
    for client in (teammate_client, analyst_client, outsider_client):
        assert client.post(url, {"note": ""}).status_code == 403
    assert Idea.objects.get().status == "submitted"
    assert owner_client.post(url, {"note": "好"}).status_code == 302
    assert Idea.objects.get().status != "submitted"


@pytest.mark.django_db
def test_unknown_move_and_long_note_do_not_change(world, owner_client):
    base = f"/programs/ideas/{world['idea']}/"
    assert owner_client.post(base + "explode/").status_code == 302
    assert owner_client.post(base + "shortlist/", {"note": "x" * 501}).status_code == 302
    assert Idea.objects.get().status == "submitted"


@pytest.mark.django_db
def test_second_best_in_a_week_shows_a_message(world, owner_client):
    other = services.submit_idea(title="另一个", body="另一个很好的想法。", channel="public")[0]
    owner_client.post(f"/programs/ideas/{world['idea']}/choose/")
    reply = owner_client.post(f"/programs/ideas/{other.pk}/choose/", follow=True)
    assert "already been chosen" in reply.content.decode()
    assert Idea.objects.filter(status="chosen").count() == 1


@pytest.mark.django_db
def test_adopt_from_console(world, owner_client, owner, teammate_client):
    url = f"/programs/ideas/{world['idea']}/adopt/"
    assert teammate_client.post(url, {}).status_code == 403
    reply = owner_client.post(url, {"owner": owner.pk, "due_date": "2026-12-31"})
    action = ImprovementAction.objects.get(source_kind="idea")
    assert reply.status_code == 302 and reply["Location"].endswith(f"/{action.pk}/")
    assert action.due_date == dt.date(2026, 12, 31)
    bad = owner_client.post(url, {"due_date": "not a date"})
    assert bad.status_code == 302  # refused with a message, nothing new
    assert ImprovementAction.objects.filter(source_kind="idea").count() == 1


@pytest.mark.django_db
def test_idea_filters(world, owner_client):
    services.submit_idea(
        title="排队太久",
        body="排队太久，服务很差，很不满意。",
        channel="public",
        store="北京朝阳店",
    )
    page = owner_client.get("/programs/ideas/", {"store": "北京朝阳店"})
    assert [i.title for i in page.context["page"].object_list] == ["排队太久"]
    negative = owner_client.get("/programs/ideas/", {"sentiment": "negative"})
    assert [i.title for i in negative.context["page"].object_list] == ["排队太久"]
    assert owner_client.get("/programs/ideas/", {"week": "bad"}).status_code == 400
    assert owner_client.get("/programs/ideas/", {"status": "bad"}).status_code == 400
    assert owner_client.get("/programs/ideas/", {"page": "zz"}).status_code == 200


@pytest.mark.django_db
def test_staff_submits_an_idea(teammate_client, teammate):
    reply = teammate_client.post(
        "/programs/ideas/submit/", {"title": "交接班清单", "body": "交接班时共享顾客问题清单。"}
    )
    assert reply.status_code == 302
    idea = Idea.objects.get()
    assert idea.author_user == teammate and idea.channel == "console"
    assert (
        teammate_client.post("/programs/ideas/submit/", {"title": "", "body": "x"}).status_code
        == 400
    )


@pytest.mark.django_db
def test_action_edit_and_permissions(world, owner_client, teammate_client, analyst_client, owner):
    url = f"/programs/improvements/{world['action']}/"
    data = {"title": "加开收银台", "status": "done", "owner": owner.pk, "due_date": "2026-12-01"}
    assert analyst_client.post(url, data).status_code == 403
    assert teammate_client.post(url, data).status_code == 302
    assert ImprovementAction.objects.get(pk=world["action"]).status == "done"
    assert owner_client.post(url, data | {"status": "nope"}).status_code == 400
    assert owner_client.post(url, data | {"due_date": "31/31/2026"}).status_code == 400
    new = owner_client.post("/programs/improvements/new/", {"title": "新行动", "status": "open"})
    assert new.status_code == 302 and ImprovementAction.objects.filter(title="新行动").exists()


@pytest.mark.django_db
def test_audit_entry_on_a_phone(world, teammate_client, template):
    url = f"/programs/audits/new/{template.pk}/"
    page = teammate_client.get(url)
    html = page.content.decode()
    assert 'name="viewport"' in html and html.count('<select name="item_') == 3
    items = list(template.items.all())
    data = {"store": "杭州西湖店", "visited_at": "2026-11-20T10:30", "shopper_name": "王女士"}
    data |= {f"item_{i.pk}": str(i.max_score) for i in items}
    data[f"comment_{items[0].pk}"] = "很好"
    reply = teammate_client.post(url, data)
    audit = MysteryAudit.objects.get(store="杭州西湖店")
    assert reply.status_code == 302 and audit.score_percent == 100.0
    missing = {k: v for k, v in data.items() if k != f"item_{items[1].pk}"}
    assert teammate_client.post(url, missing).status_code == 400
    bad = data | {f"item_{items[0].pk}": "99", "visited_at": "yesterday"}
    reply = teammate_client.post(url, bad)
    assert reply.status_code == 400 and reply.context["form"].errors.keys() >= {"visited_at"}


@pytest.mark.django_db
def test_template_crud_from_console(owner_client, teammate_client):
    data = {
        "name": "电话客服",
        "touchpoint": "phone",
        "is_active": "on",
        "items": "60秒内接通 | 2 | 5\n使用标准问候语\n\n",
    }
    assert teammate_client.post("/programs/audits/templates/new/", data).status_code == 403
    assert owner_client.post("/programs/audits/templates/new/", data).status_code == 302
    from cxloop.programs.models import AuditTemplate

    template = AuditTemplate.objects.get(name="电话客服")
    assert [(i.text, i.weight, i.max_score) for i in template.items.all()] == [
        ("60秒内接通", 2, 5),
        ("使用标准问候语", 1, 5),
    ]
    again = owner_client.post("/programs/audits/templates/new/", data)
    assert again.status_code == 400 and again.context["form"].errors["name"]
    empty = owner_client.post(
        f"/programs/audits/templates/{template.pk}/", data | {"items": "x | 0"}
    )
    assert empty.status_code == 400


@pytest.mark.django_db
def test_scores_page_shows_stores_trend_and_weakest(world, owner_client, template):
    page = owner_client.get("/programs/audits/scores/")
    html = page.content.decode()
    assert "chart-audit-trend" in html and "上海徐汇店" in html
    assert page.context["weakest"][0]["stores"][0]["store"] == "上海徐汇店"
    assert owner_client.get("/programs/audits/scores/", {"template": "abc"}).status_code == 200
    filtered = owner_client.get("/programs/audits/scores/", {"template": str(template.pk)})
    assert filtered.context["template"] == template
