"""Who sees which case: everyone with view_all_cases sees all; a handler only their departments'."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from cxloop.cases import access

pytestmark = pytest.mark.django_db


def test_handler_sees_only_the_cases_of_their_department(make_case, categories, handler, owner):
    theirs = make_case(category=categories["logistics"])
    other = make_case(category=categories["product"])
    assert list(access.visible_cases(handler)) == [theirs]
    assert access.case_for(handler, theirs.pk) == theirs
    with pytest.raises(Http404):
        access.case_for(handler, other.pk)
    assert set(access.visible_cases(owner)) == {theirs, other}


def test_a_handler_sees_a_case_they_own_elsewhere(make_case, categories, handler):
    other = make_case(category=categories["product"])
    other.owner = handler
    other.save()
    assert access.can_see(handler, other)


def test_outsiders_and_anonymous_see_nothing(make_case, outsider, analyst):
    from django.contrib.auth.models import AnonymousUser

    case = make_case()
    assert not access.visible_cases(outsider).exists()
    assert not access.visible_cases(AnonymousUser()).exists()
    with pytest.raises(PermissionDenied):
        access.case_for(outsider, case.pk)
    assert access.case_for(analyst, case.pk) == case
    with pytest.raises(PermissionDenied):
        access.case_for(analyst, case.pk, perm="cases.work_case")
