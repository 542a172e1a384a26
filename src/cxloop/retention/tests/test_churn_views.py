"""The churn model page, the risk list and its win-back action: content and permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.cases.models import Case
from cxloop.retention import churn
from cxloop.retention.churn_models import ChurnModelRecord
from cxloop.retention.models import CustomerScore
from cxloop.retention.play_models import PlayAssignment, RetentionPlay
from cxloop.retention.tests.test_churn_support import (  # noqa: F401  (fixture)
    NOW,
    make_customers,
    retention_perms,
    signal_history,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("retention_perms")]
PAGES = ("retention:churn_model", "retention:churn_risk")


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [("owner_client", 200), ("teammate_client", 200), ("analyst_client", 200),
     ("outsider_client", 403)],
)  # fmt: skip
def test_pages_by_role(request, name, who, status):
    assert request.getfixturevalue(who).get(reverse(name)).status_code == status


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("retention:churn_model"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_model_page_without_a_model(owner_client):
    page = owner_client.get(reverse("retention:churn_model")).content.decode()
    assert "No churn model has been trained yet" in page


def test_model_page_says_when_history_is_too_short(owner_client):
    make_customers(3)
    churn.train_churn_model(now=NOW)
    page = owner_client.get(reverse("retention:churn_model")).content.decode()
    assert "Too little history to train a churn model." in page
    assert "there are no orders yet" in page


def test_model_page_shows_the_figures_and_the_chart(owner_client, analyst_client):
    signal_history()
    record = churn.train_churn_model(now=NOW)
    page = owner_client.get(reverse("retention:churn_model")).content.decode()
    assert f"{record.auc:.3f}" in page and "chart-churn-calibration" in page
    assert "Retrain now" in page
    # Only holders of train_churn_model see the button.
    assert (
        "Retrain now" not in analyst_client.get(reverse("retention:churn_model")).content.decode()
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner_client", 302), ("teammate_client", 403), ("analyst_client", 403),
     ("outsider_client", 403)],
)  # fmt: skip
def test_retrain_permission(request, who, status):
    make_customers(2)
    response = request.getfixturevalue(who).post(reverse("retention:churn_retrain"))
    assert response.status_code == status
    assert ChurnModelRecord.objects.exists() == (status == 302)


def test_risk_list_sorted_filtered_masked(teammate_client, analyst_client):
    customers = make_customers(4)
    risks = [0.9, 0.55, 0.7, 0.2]
    for customer, risk in zip(customers, risks, strict=True):
        CustomerScore.objects.filter(customer=customer).update(
            churn_risk=risk, churn_reasons=[{"key": "survey", "params": {"last_survey_score": 2}}]
        )
    CustomerScore.objects.filter(customer=customers[2]).update(tier="potential")
    page = analyst_client.get(reverse("retention:churn_risk")).content.decode()
    names = [c.name for c in customers]
    assert page.index(names[0]) < page.index(names[2]) < page.index(names[1])
    assert names[3] not in page
    assert "last survey score 2/10" in page
    assert customers[0].phone not in page and "138****0000" in page  # analysts see masked phones
    assert (
        customers[0].phone in teammate_client.get(reverse("retention:churn_risk")).content.decode()
    )
    filtered = analyst_client.get(reverse("retention:churn_risk"), {"tier": "potential",
                                                                   "threshold": "0.1"})  # fmt: skip
    text = filtered.content.decode()
    assert names[2] in text and names[0] not in text
    bad = analyst_client.get(reverse("retention:churn_risk"), {"threshold": "7"})
    assert (
        bad.status_code == 200
        and "Ensure this value is less than or equal to 1" in bad.content.decode()
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner_client", 302), ("teammate_client", 302), ("analyst_client", 403),
     ("outsider_client", 403)],
)  # fmt: skip
def test_start_winback_for_picked_customers(request, who, status):
    customers = make_customers(3)
    RetentionPlay.objects.filter(kind="winback_task").update(holdout_percent=0)
    picked = [customers[0].pk, customers[2].pk]
    response = request.getfixturevalue(who).post(
        reverse("retention:churn_winback"), {"customer": picked, "query": "tier=basic"}
    )
    assert response.status_code == status
    if status == 302:
        assert response["Location"].endswith("/churn/risk/?tier=basic")
        assert sorted(PlayAssignment.objects.values_list("customer_id", flat=True)) == picked
        assert Case.objects.filter(category__code="retention-winback").count() == 2
    else:
        assert not PlayAssignment.objects.exists()
