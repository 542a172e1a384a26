"""Building blocks for the SLA tests: real calendar rows, real rules, cases written directly.

Cases are plain ``Case`` rows (not ``services.create_case``), so the clock tests see only the
clocks they start themselves, with exactly the rules the test made.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from cxloop.cases import sla
from cxloop.cases.models import Case, CaseTarget, Department, Membership, SlaRule
from cxloop.core import calendars
from cxloop.core.models import BusinessCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
Target = SlaRule.Target
_numbers = itertools.count(1)


def at(text: str, zone: ZoneInfo = SHANGHAI) -> dt.datetime:
    """``"2026-03-11 09:00"`` as an aware wall-clock time (Asia/Shanghai unless told)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def calendar(name: str, **fields) -> BusinessCalendar:
    """A calendar through the audited service (standard hours unless told)."""
    return calendars.create_calendar(actor=None, name=name, **fields)


def round_the_clock(name: str = "7×24 test", time_zone: str = "Asia/Shanghai"):
    return calendar(name, time_zone=time_zone, always_open=True, use_chinese_holidays=False,
                    weekly_hours={})  # fmt: skip


def rule(target: str, *, minutes=None, working_days=None, **fields) -> SlaRule:
    name = fields.pop("name", f"{target} {minutes or working_days}")
    return SlaRule.objects.create(
        name=name, target=target, minutes=minutes, working_days=working_days, **fields
    )


def make_case(*, created_at: dt.datetime, **fields) -> Case:
    values = {"channel": "hotline", "subject": "快递三天没到", "status": Case.Status.NEW}
    return Case.objects.create(number=f"S{next(_numbers):06d}", created_at=created_at,
                               **{**values, **fields})  # fmt: skip


def opened(*, created_at: dt.datetime, kinds=None, **fields) -> Case:
    """A case with its clocks started at its creation."""
    case = make_case(created_at=created_at, **fields)
    sla.start_clocks(case=case, now=created_at, kinds=kinds)
    return case


def clock(case: Case, kind: str, cycle: int = 1) -> CaseTarget:
    return CaseTarget.objects.get(case=case, kind=kind, cycle=cycle)


def department(code: str, *, calendar=None, head=None) -> Department:
    return Department.objects.create(code=code, name=code, calendar=calendar, head=head)


def staff(django_user_model, username: str, department=None, *, supervisor=False):
    user = django_user_model.objects.create_user(
        username=username, password="pw", email=f"{username}@example.com"
    )
    if department is not None:
        role = Membership.Role.SUPERVISOR if supervisor else Membership.Role.MEMBER
        Membership.objects.create(department=department, user=user, role=role)
    return user
