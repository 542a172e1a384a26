import datetime as dt

import pytest
from django.utils import timezone

from cxloop.customers import validation as v


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "+86 138 0013 8000", "138-0013-8000", "008613800138000", "8613800138000",
     13800138000, 13800138000.0, " 138 0013 8000 "],
)  # fmt: skip
def test_phone_spellings_normalise_to_11_digits(raw):
    assert v.parse_phone(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["1380013800", "23800138000", "138001380001", "phone", "+1 555"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(v.Invalid) as exc:
        v.parse_phone(raw)
    assert exc.value.reason == v.BAD_PHONE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("是", True), ("否", False), ("TRUE", True), ("false", False), ("1", True), (0, False),
     ("Yes", True), ("no", False), ("Y", True), ("n", False), (True, True)],
)  # fmt: skip
def test_booleans(raw, expected):
    assert v.parse_bool(raw) is expected


def test_bad_boolean():
    with pytest.raises(v.Invalid):
        v.parse_bool("maybe")


@pytest.mark.parametrize(
    "raw",
    ["2024-03-05", "2024/3/5", "2024/03/05", "2024-03-05 00:00:00", dt.date(2024, 3, 5),
     dt.datetime(2024, 3, 5, 0, 0), 45356],
)  # fmt: skip
def test_dates(raw):
    assert v.parse_date(raw) == dt.date(2024, 3, 5)


@pytest.mark.parametrize("raw", ["2024-02-30", "05/03/2024", "yesterday", "2024-13-01"])
def test_bad_dates(raw):
    with pytest.raises(v.Invalid):
        v.parse_date(raw)


def test_birthday_in_the_future_is_refused():
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(v.Invalid) as exc:
        v.parse_past_date(tomorrow.isoformat())
    assert exc.value.reason == v.FUTURE_DATE


def test_naive_datetimes_are_shanghai_time():
    moment = v.parse_datetime("2024-05-01 10:30")
    assert moment.utcoffset() == dt.timedelta(hours=8)
    assert moment.astimezone(dt.UTC) == dt.datetime(2024, 5, 1, 2, 30, tzinfo=dt.UTC)
    assert v.parse_datetime("2024/5/1 10:30:15") == moment + dt.timedelta(seconds=15)
    assert v.parse_datetime("2024-05-01T02:30:00Z") == moment
    assert v.parse_datetime("2024/05/01 02:30 +0000") == moment


def test_amounts():
    assert v.parse_yuan("128.50") == 12850
    assert v.parse_yuan("¥1,280") == 128000
    assert v.parse_yuan(99.9) == 9990
    assert v.parse_fen("12850") == 12850
    for bad, reason in [("-5", v.NEGATIVE_AMOUNT), ("1.234", v.BAD_AMOUNT), ("abc", v.BAD_AMOUNT)]:
        with pytest.raises(v.Invalid) as exc:
            v.parse_yuan(bad)
        assert exc.value.reason == reason


def test_choices_accept_codes_english_and_chinese_labels():
    channel = v.ORDER_FIELDS["channel"].parse
    status = v.ORDER_FIELDS["status"].parse
    assert [channel(x) for x in ["门店", "线上", "Online shop", "mini_program", "小程序"]] == [
        "store", "online", "online", "mini_program", "mini_program"
    ]  # fmt: skip
    assert [status(x) for x in ["已送达", "Delivered", "completed", "已取消"]] == [
        "delivered", "delivered", "completed", "cancelled"
    ]  # fmt: skip
    with pytest.raises(v.Invalid):
        channel("pigeon")


def test_tags_split_on_chinese_and_latin_separators():
    assert v.parse_tags("关注高端款，偏好性价比; 母婴|关注高端款") == [
        "关注高端款",
        "偏好性价比",
        "母婴",
    ]


def test_validate_row_reports_each_bad_value_with_the_file_column():
    raw = {"external_id": "C1", "phone": "123", "birthday": "someday", "consent_survey": "maybe"}
    columns = {"external_id": "客户编号", "phone": "手机", "birthday": "生日"}
    clean, errors = v.validate_row("customers", raw, row=7, columns=columns)
    assert clean is None
    assert {(e["row"], e["column"], e["reason"]) for e in errors} == {
        (7, "手机", v.BAD_PHONE),
        (7, "生日", v.BAD_DATE),
        (7, "consent_survey", v.BAD_BOOL),
    }


def test_validate_row_requires_the_key_fields():
    _clean, errors = v.validate_row("orders", {"external_id": "", "amount": "1"}, row=3)
    assert {e["column"] for e in errors} == {"external_id", "customer_external_id", "placed_at"}
    assert all(e["reason"] == v.REQUIRED for e in errors)


def test_validate_row_blank_values_are_left_out():
    clean, errors = v.validate_row("customers", {"external_id": " C1 ", "email": " "}, row=2)
    assert errors == [] and clean == {"external_id": "C1"}


def test_amounts_beyond_any_real_order_are_refused():
    assert v.parse_fen(str(v.MAX_AMOUNT_FEN)) == v.MAX_AMOUNT_FEN
    for parse, raw in [(v.parse_fen, 10**30), (v.parse_yuan, "1" * 15), (v.parse_yuan, "1e20")]:
        with pytest.raises(v.Invalid) as exc:
            parse(raw)
        assert exc.value.reason == v.TOO_LARGE_AMOUNT


def test_explicit_offsets_are_stored_as_utc():
    moment = v.parse_datetime("2024-05-01T10:30:00+23:34")
    assert moment.utcoffset() == dt.timedelta(0)
    assert moment == dt.datetime(2024, 4, 30, 10, 56, tzinfo=dt.UTC)
    with pytest.raises(v.Invalid) as exc:
        v.parse_datetime("9999-12-31T23:59:00-12:00")
    assert exc.value.reason == v.BAD_DATETIME
