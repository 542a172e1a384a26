import pytest


@pytest.mark.django_db
def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302


def test_home_for_owner(owner_client):
    assert owner_client.get("/").status_code == 200


def test_home_refuses_outsider(outsider_client):
    assert outsider_client.get("/").status_code == 403
