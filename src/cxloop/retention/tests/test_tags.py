"""Demand tags: the rules, and their merge into Customer.tags beside the manual ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxloop.core.services import set_setting
from cxloop.customers.models import Customer
from cxloop.retention.models import CustomerScore
from cxloop.retention.scoring import score_customers
from cxloop.retention.tags import (
    MOSTLY_ONLINE,
    PREMIUM,
    STORE_REGULAR,
    VALUE,
    TagRules,
    derive_tag_masks,
    merge_tags,
    tags_of_mask,
)
from cxloop.retention.tests.segment_helpers import NOW, build_shop, customer, orders


def _tags(orders_, spend, store=None, online=None, rules: TagRules | None = None):
    rules = rules or TagRules()
    orders_ = np.array(orders_, dtype=float)
    masks = derive_tag_masks(
        orders=orders_,
        spend_fen=np.array(spend, dtype=float),
        store_orders=np.array(store if store is not None else [0] * len(orders_), dtype=float),
        online_orders=np.array(online if online is not None else [0] * len(orders_), dtype=float),
        rules=rules,
    )
    return [tags_of_mask(int(mask)) for mask in masks]


def test_premium_is_the_top_fifth_by_average_order_value():
    # Ten buyers with averages 1..10 (x 100 fen): the top 20 % are the two highest.
    tags = _tags([1] * 10, [100 * i for i in range(1, 11)])
    assert [PREMIUM in t for t in tags] == [False] * 8 + [True] * 2


def test_value_needs_enough_orders_and_a_low_average():
    rules = TagRules(value_bottom_percent=30, min_orders=3)
    tags = _tags([3, 3, 2, 3, 3, 3, 3, 3, 3, 3], [300, 600, 100, *[5000] * 7], rules=rules)
    assert [VALUE in t for t in tags] == [True, True, False] + [False] * 7


def test_ties_never_promote_and_no_orders_get_no_tags():
    assert _tags([2, 2, 2, 0], [500, 500, 500, 0]) == [[], [], [], []]


def test_channel_tags_need_the_share_and_the_orders():
    tags = _tags([4, 4, 2, 4], [400] * 4, store=[3, 0, 2, 2], online=[1, 4, 0, 2])
    assert [STORE_REGULAR in t for t in tags] == [True, False, False, False]
    assert [MOSTLY_ONLINE in t for t in tags] == [False, True, False, False]


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 10**7)), max_size=60))
def test_tag_shares_never_exceed_their_setting(rows):
    orders_ = [n for n, _ in rows]
    spend = [s if n else 0 for n, s in rows]
    tags = _tags(orders_, spend) if rows else []
    buyers = sum(1 for n in orders_ if n)
    assert sum(PREMIUM in t for t in tags) <= 0.2 * buyers + 1e-9
    assert sum(VALUE in t for t in tags) <= 0.3 * buyers + 1e-9
    assert all(not t for t, n in zip(tags, orders_, strict=True) if n == 0)


def test_merge_keeps_manual_tags_and_replaces_the_derived_ones():
    merged = merge_tags(["母婴用品", PREMIUM], old_derived=[PREMIUM], new_derived=[VALUE])
    assert merged == ["母婴用品", VALUE]
    assert merge_tags(["母婴用品"], old_derived=[], new_derived=["母婴用品"]) == ["母婴用品"]


@pytest.mark.django_db
def test_scoring_stores_derived_tags_and_merges_them_into_customer_tags():
    shop = build_shop()
    big = shop["high"][0]
    big.tags = ["数码爱好者"]
    big.save()
    score_customers(now=NOW)
    score = CustomerScore.objects.get(customer=big)
    assert score.derived_tags == [PREMIUM, STORE_REGULAR]
    big.refresh_from_db()
    assert big.tags == ["数码爱好者", PREMIUM, STORE_REGULAR]
    online = CustomerScore.objects.get(customer=shop["potential"][0])
    assert online.derived_tags == [MOSTLY_ONLINE]


@pytest.mark.django_db
def test_a_tag_the_behaviour_no_longer_shows_is_removed_and_manual_ones_stay():
    shop = build_shop()
    who = shop["potential"][1]
    who.tags = ["喜欢新品"]
    who.save()
    score_customers(now=NOW)
    who.refresh_from_db()
    assert who.tags == ["喜欢新品", MOSTLY_ONLINE]
    orders(who, days_ago=list(range(1, 11)), amount_fen=50_000)  # now 10 of 14 in a store
    score_customers(now=NOW)
    who.refresh_from_db()
    assert MOSTLY_ONLINE not in who.tags and who.tags[0] == "喜欢新品"
    assert STORE_REGULAR in who.tags


@pytest.mark.django_db
def test_a_derived_tag_deleted_by_hand_stays_deleted_while_behaviour_is_unchanged():
    shop = build_shop()
    score_customers(now=NOW)
    who = Customer.objects.get(pk=shop["high"][0].pk)
    who.tags = [STORE_REGULAR]  # staff removed 关注高端款
    who.save()
    score_customers(now=NOW)
    who.refresh_from_db()
    assert who.tags == [STORE_REGULAR]


@pytest.mark.django_db
def test_tag_rules_come_from_the_settings():
    shop = build_shop()
    set_setting(key="tag_premium_top_percent", value=0, actor=None)
    set_setting(key="tag_channel_share_percent", value=100, actor=None)
    set_setting(key="tag_min_orders", value=5, actor=None)
    run = score_customers(now=NOW)
    assert run.parameters["tags"] == {
        "premium_top_percent": 0, "value_bottom_percent": 30, "min_orders": 5,
        "channel_share_percent": 100,
    }  # fmt: skip
    assert CustomerScore.objects.get(customer=shop["high"][0]).derived_tags == [STORE_REGULAR]
    assert CustomerScore.objects.get(customer=shop["potential"][0]).derived_tags == []
    assert customer().tags == []
