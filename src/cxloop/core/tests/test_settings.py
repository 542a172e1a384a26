"""Organisation settings: registry defaults, validation, audited writes, the settings page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cxloop.core.models import AuditLog, Setting
from cxloop.core.services import set_setting, set_settings
from cxloop.core.settings_registry import REGISTRY, all_settings, get_setting

pytestmark = pytest.mark.django_db
URL = reverse("core:settings")

DEFAULTS = {
    "organisation_name": "示例零售",
    "survey_frequency_cap_days": 30,
    "quiet_hours_start": "21:00",
    "quiet_hours_end": "08:00",
    "compensation_limit_fen": 5000,
    "vip_annual_spend_fen": 500_000,
    "export_mask_pii": True,
    "major_complaint_amount_fen": 1_000_000,
    "detractor_opens_case": True,
    "repeat_complaint_days": 30,
    "rfm_quantiles": 5,
    "tier_high_value_percent": 10,
    "tier_potential_percent": 30,
    "tier_churn_warning_percent": 10,
    "churn_inactive_days": 180,
    "new_customer_days": 90,
    "active_customer_days": 180,
    "lapsed_customer_days": 90,
    "clv_horizon_months": 12,
    "clv_monthly_discount_percent": 1,
    "tag_premium_top_percent": 20,
    "tag_value_bottom_percent": 30,
    "tag_min_orders": 3,
    "tag_channel_share_percent": 70,
    "loyalty_adjustment_approval_points": 1000,
    "points_expiry_months": 24,
    "negative_text_threshold": -0.3,
    "idea_reward_points": 500,
}


def _setting_audits():
    return AuditLog.objects.filter(action="setting.changed")


def _form_data(**overrides) -> dict:
    data = {
        "organisation_name": "示例零售",
        "survey_frequency_cap_days": "30",
        "quiet_hours_start": "21:00",
        "quiet_hours_end": "08:00",
        "compensation_limit_fen": "50.00",
        "vip_annual_spend_fen": "5000",
        "export_mask_pii": "on",
        "major_complaint_amount_fen": "10000",
        "detractor_opens_case": "on",
        "repeat_complaint_days": "30",
        "rfm_quantiles": "5",
        "tier_high_value_percent": "10",
        "tier_potential_percent": "30",
        "tier_churn_warning_percent": "10",
        "churn_inactive_days": "180",
        "new_customer_days": "90",
        "active_customer_days": "180",
        "lapsed_customer_days": "90",
        "clv_horizon_months": "12",
        "clv_monthly_discount_percent": "1",
        "tag_premium_top_percent": "20",
        "tag_value_bottom_percent": "30",
        "tag_min_orders": "3",
        "tag_channel_share_percent": "70",
        "loyalty_adjustment_approval_points": "1000",
        "points_expiry_months": "24",
        "negative_text_threshold": "-0.3",
        "idea_reward_points": "500",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- registry and services -----------------------------------------------------------------


def test_defaults_without_rows():
    assert all_settings() == DEFAULTS
    for key, value in DEFAULTS.items():
        assert get_setting(key) == value


def test_unknown_key_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown setting 'nope'"):
        get_setting("nope")
    with pytest.raises(KeyError):
        set_setting(key="nope", value=1, actor=None)


def test_set_setting_stores_audits_and_reads_back(owner):
    assert set_setting(key="survey_frequency_cap_days", value="14", actor=owner) is True
    assert get_setting("survey_frequency_cap_days") == 14
    entry = AuditLog.objects.get(action="setting.changed")
    assert entry.actor == owner
    assert entry.object_repr == "survey_frequency_cap_days"
    assert (entry.before, entry.after) == ({"value": 30}, {"value": 14})


def test_unchanged_value_writes_nothing(owner):
    assert set_setting(key="quiet_hours_start", value="21:00", actor=owner) is False
    assert not Setting.objects.exists()
    assert not _setting_audits().exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("survey_frequency_cap_days", -1),
        ("survey_frequency_cap_days", "abc"),
        ("survey_frequency_cap_days", True),
        ("quiet_hours_start", "25:00"),
        ("quiet_hours_end", "8pm"),
        ("organisation_name", "   "),
        ("organisation_name", "x" * 101),
        ("compensation_limit_fen", -5),
        ("export_mask_pii", "yes"),
    ],
)
def test_bad_values_are_refused(owner, key, value):
    with pytest.raises(ValidationError):
        set_setting(key=key, value=value, actor=owner)
    assert get_setting(key) == DEFAULTS[key]
    assert not _setting_audits().exists()


def test_time_is_normalised():
    set_setting(key="quiet_hours_end", value="7:05", actor=None)
    assert get_setting("quiet_hours_end") == "07:05"


def test_broken_stored_value_falls_back_to_default():
    Setting.objects.create(key="survey_frequency_cap_days", value="lots")
    assert get_setting("survey_frequency_cap_days") == 30
    assert all_settings()["survey_frequency_cap_days"] == 30


def test_set_settings_is_all_or_nothing(owner):
    with pytest.raises(ValidationError):
        set_settings(
            values={"organisation_name": "新名字", "quiet_hours_start": "99:99"}, actor=owner
        )
    assert get_setting("organisation_name") == "示例零售"
    assert not _setting_audits().exists()


def test_every_setting_has_label_and_help():
    for spec in REGISTRY.values():
        assert str(spec.label) and str(spec.help_text)
        assert spec.clean(spec.default) == spec.default


# --- the page ------------------------------------------------------------------------------


def test_page_permissions(owner_client, teammate_client, analyst_client, outsider_client, client):
    assert owner_client.get(URL).status_code == 200
    for refused in (teammate_client, analyst_client, outsider_client):
        assert refused.get(URL).status_code == 403
        assert refused.post(URL, _form_data(organisation_name="hacked")).status_code == 403
    assert client.get(URL).status_code == 302
    assert get_setting("organisation_name") == "示例零售"


def test_page_shows_money_in_yuan(owner_client):
    html = owner_client.get(URL).content.decode()
    assert 'value="50.00"' in html or 'value="50"' in html


def test_saving_changes_writes_audit_rows(owner, owner_client):
    response = owner_client.post(
        URL,
        _form_data(
            organisation_name="新零售",
            compensation_limit_fen="80.50",
            export_mask_pii=None,  # unchecked box
        ),
    )
    assert response.status_code == 302
    assert get_setting("organisation_name") == "新零售"
    assert get_setting("compensation_limit_fen") == 8050
    assert get_setting("export_mask_pii") is False
    changed = set(_setting_audits().values_list("object_repr", flat=True))
    assert changed == {"organisation_name", "compensation_limit_fen", "export_mask_pii"}
    assert set(_setting_audits().values_list("actor", flat=True)) == {owner.pk}


def test_bad_input_re_renders_with_errors_and_saves_nothing(owner_client):
    response = owner_client.post(
        URL,
        _form_data(
            organisation_name="新零售",
            survey_frequency_cap_days="400",
            quiet_hours_start="25:61",
            compensation_limit_fen="1.234",
        ),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"survey_frequency_cap_days", "quiet_hours_start", "compensation_limit_fen"} <= set(
        errors
    )
    assert 'value="新零售"' in response.content.decode()  # what was typed is kept
    assert get_setting("organisation_name") == "示例零售"
    assert not _setting_audits().exists()


def test_cached_setting_is_read_once_and_forgotten_when_saved(settings, django_assert_num_queries):
    from cxloop.core.settings_registry import forget_cached_settings

    settings.CXLOOP_SETTINGS_CACHE_SECONDS = 60
    forget_cached_settings()
    try:
        with django_assert_num_queries(1):
            assert get_setting("vip_annual_spend_fen") == 500_000
            assert get_setting("vip_annual_spend_fen") == 500_000
        set_setting(key="vip_annual_spend_fen", value=100_000, actor=None)
        assert get_setting("vip_annual_spend_fen") == 100_000
    finally:
        forget_cached_settings()
