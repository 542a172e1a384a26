"""The console pages: permissions for every role on every page, bad input, the result page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.experiments.models import Experiment

from .conftest import assign_all, make_cases, new_experiment, started

VALID = {"name": "Empathy", "unit": "case", "metric": "resolved_first_contact",
         "variant_a": "标准话术", "variant_b": "共情话术", "split_b_percent": "50"}  # fmt: skip


@pytest.fixture
def experiment(owner):
    return new_experiment(owner)


def pages(pk):
    return {
        "list": ("get", reverse("experiments:list"), {}),
        "new": ("get", reverse("experiments:new"), {}),
        "create": ("post", reverse("experiments:new"), VALID),
        "detail": ("get", reverse("experiments:detail", args=[pk]), {}),
        "edit": ("get", reverse("experiments:edit", args=[pk]), {}),
        "save": ("post", reverse("experiments:edit", args=[pk]), {**VALID, "name": "Renamed"}),
        "start": ("post", reverse("experiments:move", args=[pk, "start"]), {}),
    }


ALLOWED = {
    "owner_client": {"list", "new", "create", "detail", "edit", "save", "start"},
    "analyst_client": {"list", "new", "create", "detail", "edit", "save", "start"},
    "teammate_client": {"list", "detail"},
    "outsider_client": set(),
}


@pytest.mark.parametrize("who", list(ALLOWED))
def test_permissions_on_every_page(request, who, experiment):
    client = request.getfixturevalue(who)
    for name, (method, url, data) in pages(experiment.pk).items():
        response = getattr(client, method)(url, data)
        if name in ALLOWED[who]:
            assert response.status_code in (200, 302), (who, name, response.status_code)
        else:
            assert response.status_code == 403, (who, name, response.status_code)


def test_anonymous_is_sent_to_sign_in(client, experiment):
    response = client.get(reverse("experiments:detail", args=[experiment.pk]))
    assert response.status_code == 302


def test_create_then_start_then_stop(owner_client):
    response = owner_client.post(reverse("experiments:new"), VALID)
    experiment = Experiment.objects.get()
    assert response.url == reverse("experiments:detail", args=[experiment.pk])
    for action, status in (("start", "running"), ("stop", "stopped")):
        owner_client.post(reverse("experiments:move", args=[experiment.pk, action]))
        experiment.refresh_from_db()
        assert experiment.status == status


@pytest.mark.parametrize("bad", [
    {"name": ""}, {"split_b_percent": "0"}, {"split_b_percent": "abc"}, {"metric": "nps"},
    {"unit": "store"}, {"variant_b": "标准话术"}, {"min_effect": "-3"}, {"min_effect": "150"},
    {"category": "999999"}, {"channel": "pigeon"},
])  # fmt: skip
def test_bad_input_re_renders_with_a_message(owner_client, bad):
    response = owner_client.post(reverse("experiments:new"), {**VALID, **bad})
    assert response.status_code == 400
    assert b'class="errorlist' in response.content
    assert not Experiment.objects.exists()


def test_started_experiment_keeps_its_design(owner, owner_client):
    experiment = started(owner)
    response = owner_client.post(
        reverse("experiments:edit", args=[experiment.pk]), {**VALID, "metric": "reopened"}
    )
    assert response.status_code == 400
    assert b"Only the name, hypothesis and descriptions change" in response.content
    experiment.refresh_from_db()
    assert experiment.metric == "csat_top2"


def test_impossible_moves_are_messages_not_errors(owner_client, experiment):
    stop = owner_client.post(reverse("experiments:move", args=[experiment.pk, "stop"]), follow=True)
    assert stop.status_code == 200 and b"This step is not possible now." not in stop.content
    assert b"The experiment is Draft." in stop.content
    unknown = owner_client.post(reverse("experiments:move", args=[experiment.pk, "explode"]))
    assert unknown.status_code == 404
    assert (
        owner_client.get(reverse("experiments:move", args=[experiment.pk, "start"])).status_code
        == 405
    )
    assert owner_client.get(reverse("experiments:detail", args=[987654])).status_code == 404


def test_detail_shows_the_verdict_table_and_chart(owner, teammate_client):
    experiment = started(owner, metric="resolved_first_contact")
    assign_all(experiment, make_cases(60, resolved_at=experiment.started_at,
                                      agent_response_count=1), "A")  # fmt: skip
    assign_all(experiment, make_cases(60, resolved_at=experiment.started_at), "B")
    response = teammate_client.get(reverse("experiments:detail", args=[experiment.pk]))
    body = response.content.decode()
    assert "A (标准话术) is better by 100.0 points" in body
    assert 'data-verdict="a_better"' in body
    assert "chart-experiment-result" in body and "Hedges" not in body and "Cohen&#x27;s h" in body
    assert "A: 60 · B: 60" in body


def test_detail_before_data_shows_the_required_sample(owner_client, owner):
    experiment = started(owner, min_effect=10)
    body = owner_client.get(reverse("experiments:detail", args=[experiment.pk])).content.decode()
    assert "Required sample size: about" in body
    assert "have 0 and 0" in body


def test_case_page_include_names_the_variant(owner, category):
    from django.template.loader import render_to_string

    from cxloop.cases import services as case_services

    experiment = started(owner, category=category)
    case = case_services.create_case(channel="hotline", subject="late", contact_name="李",
                                     category=category)  # fmt: skip
    variant = experiment.assignments.get().variant
    html = render_to_string("experiments/_case_variant.html", {"case": case})
    assert f"Variant {variant}: {experiment.variant_name(variant)}" in html
    experiment.status = "stopped"
    experiment.save()
    assert "Variant" not in render_to_string("experiments/_case_variant.html", {"case": case})
