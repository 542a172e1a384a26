"""Demand tags derived from buying behaviour, and their merge with the tags staff type.

Rules (thresholds are organisation settings, see ``TagRules.from_settings``), over the
counted orders of ``cxloop.retention.scoring`` (paid, shipped, delivered, completed):

* 关注高端款 (premium): the customer's average order value is in the top
  ``premium_top_percent`` % of the buyers' averages (20 %): at least 80 % of the buyers have
  a strictly lower average. One order is enough. Ties never promote: when every buyer has the
  same average, nobody gets the tag.
* 偏好性价比 (value for money): at least ``min_orders`` orders (3) and an average order value
  in the bottom ``value_bottom_percent`` % (30 %): at least 70 % of the buyers have a strictly
  higher average.
* 门店常客 (store regular): at least ``min_orders`` orders, ``channel_share_percent`` % (70 %)
  or more of them in a store.
* 线上为主 (mostly online): at least ``min_orders`` orders, 70 % or more of them online (online
  shop, app, mini program).

Derived tags live in ``CustomerScore.derived_tags``; they are also merged into
``Customer.tags`` (what the list filter and exports read) without touching the tags typed by
hand: a run replaces the tags it derived last time with the ones it derives now. A derived tag
someone deleted by hand stays deleted until the customer's derived tags change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from cxloop.core import settings_registry as registry

PREMIUM = "关注高端款"
VALUE = "偏好性价比"
STORE_REGULAR = "门店常客"
MOSTLY_ONLINE = "线上为主"
# Bit i of a tag mask is DERIVED_TAGS[i]; the order is the order tags are listed in.
DERIVED_TAGS = (PREMIUM, VALUE, STORE_REGULAR, MOSTLY_ONLINE)


@dataclass(frozen=True)
class TagRules:
    premium_top_percent: int = 20
    value_bottom_percent: int = 30
    min_orders: int = 3
    channel_share_percent: int = 70

    @classmethod
    def from_settings(cls) -> TagRules:
        get = registry.get_setting
        return cls(
            premium_top_percent=get(registry.TAG_PREMIUM_TOP_PERCENT),
            value_bottom_percent=get(registry.TAG_VALUE_BOTTOM_PERCENT),
            min_orders=get(registry.TAG_MIN_ORDERS),
            channel_share_percent=get(registry.TAG_CHANNEL_SHARE_PERCENT),
        )


def derive_tag_masks(
    *,
    orders: np.ndarray,
    spend_fen: np.ndarray,
    store_orders: np.ndarray,
    online_orders: np.ndarray,
    rules: TagRules,
) -> np.ndarray:
    """One uint8 bit mask per customer (bit i: DERIVED_TAGS[i]); 0 for customers without orders."""
    orders = np.asarray(orders, dtype=np.float64)
    buyers = orders > 0
    aov = np.divide(spend_fen, orders, out=np.zeros(orders.size), where=buyers)
    higher, lower = _strictly_higher_lower(aov, buyers)
    n = max(int(buyers.sum()), 1)
    # Compare counts, not shares: 0.8 * n must not lose to 79.99999 from rounding.
    premium = buyers & (100 * lower >= (100 - rules.premium_top_percent) * n)
    enough = orders >= rules.min_orders
    value = enough & (100 * higher >= (100 - rules.value_bottom_percent) * n)
    share = rules.channel_share_percent / 100
    with np.errstate(invalid="ignore", divide="ignore"):
        store = enough & (store_orders / orders >= share)
        online = enough & (online_orders / orders >= share)
    masks = np.zeros(orders.size, dtype=np.uint8)
    for bit, flags in enumerate((premium, value, store, online)):
        masks |= flags.astype(np.uint8) << bit
    return masks


def _strictly_higher_lower(aov: np.ndarray, buyers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: how many buyers have a strictly higher / lower average order value."""
    ranked = np.sort(aov[buyers])
    higher = ranked.size - np.searchsorted(ranked, aov, side="right")
    lower = np.searchsorted(ranked, aov, side="left")
    return higher, lower


def tags_of_mask(mask: int) -> list[str]:
    return [tag for bit, tag in enumerate(DERIVED_TAGS) if mask >> bit & 1]


def merge_tags(current: Iterable[str], *, old_derived: Iterable[str], new_derived: Iterable[str]):
    """``current`` without the previously derived tags, then the new derived ones (no repeats)."""
    old = set(old_derived)
    merged = [tag for tag in current if tag not in old]
    merged += [tag for tag in new_derived if tag not in merged]
    return merged
