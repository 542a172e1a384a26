"""Console forms of the cases settings: one per kind (taxonomy, department, member, SLA rule,
routing rule, calendar, solution).

The forms read and tidy the input and give it under the services' argument names
(``service_fields()``); the services (``config_services``, ``config_rules``, ``core.calendars``)
validate, and ``attach_errors`` puts their per-field messages on the matching form fields.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from cxloop.cases.models import (
    AssignmentRule,
    Category,
    Channel,
    Department,
    Membership,
    Severity,
    SlaRule,
    Tier,
)
from cxloop.core.models import BusinessCalendar

ANY = [("", _("— any —"))]
_INTERVAL = re.compile(r"(\d{1,2}:\d{2})\s*[-–—~至]\s*(\d{1,2}:\d{2})")
_SEPARATORS = re.compile(r"^[\s,，;；、]*$")
_DATE_SPLIT = re.compile(r"[\s,，;；、]+")


def attach_errors(form: forms.Form, error: ValidationError, aliases=None) -> None:
    """Put a service's ValidationError on ``form``: per field where the form has it, else on top."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for name, messages in error.message_dict.items():
        for message in messages:
            field = (aliases or {}).get(name, name)
            if callable(field):
                field = field(message)
            form.add_error(field if field in form.fields else None, message)


class UserChoiceField(forms.ModelChoiceField):
    """An active staff user, shown by full name and user name."""

    def __init__(self, **kwargs):
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        kwargs.setdefault("required", False)
        super().__init__(queryset=users, **kwargs)

    def label_from_instance(self, obj) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


class ConfigForm(forms.Form):
    """Common shape: ``for_object`` fills the form from a row, ``service_fields`` reads it."""

    @classmethod
    def for_object(cls, obj=None, data=None, **kwargs):
        initial = cls.initial_for(obj) if obj is not None else {}
        return cls(data, initial=initial, obj=obj, **kwargs)

    @classmethod
    def initial_for(cls, obj) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in cls.base_fields if hasattr(obj, name)}

    def __init__(self, *args, obj=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.obj = obj

    def service_fields(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    def attach(self, error: ValidationError) -> None:
        attach_errors(self, error)


def _active(label, initial=True) -> forms.BooleanField:
    return forms.BooleanField(label=label, required=False, initial=initial)


# --- taxonomy, departments, members ------------------------------------------------------------


class CategoryForm(ConfigForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("Letters, digits and hyphens, e.g. logistics-damage."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.ModelChoiceField(
        label=_("Parent category"), queryset=Category.objects.none(), required=False,
        empty_label=_("— top level —"),
        help_text=_("Two levels: a sub-category sits under a top-level category."),
    )  # fmt: skip
    default_department = forms.ModelChoiceField(
        label=_("Default department"),
        queryset=Department.objects.filter(is_active=True),
        required=False,
        help_text=_("Cases of this category go there when no routing rule matches."),
    )
    is_active = _active(_("Active (new cases can choose it)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        tops = Category.objects.filter(parent__isnull=True).order_by("code")
        if self.obj is not None:
            tops = tops.exclude(pk=self.obj.pk)
        self.fields["parent"].queryset = tops


class DepartmentForm(ConfigForm):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=100)
    head = UserChoiceField(
        label=_("Department head"),
        help_text=_("Told when a missed deadline is escalated a second time."),
    )
    calendar = forms.ModelChoiceField(
        label=_("Business calendar"), queryset=BusinessCalendar.objects.order_by("name"),
        required=False, empty_label=_("— the default calendar —"),
        help_text=_("Working hours its deadlines are counted in (urgent cases run 7×24)."),
    )  # fmt: skip
    is_active = _active(_("Active (cases can be routed to it)"))


class MemberForm(ConfigForm):
    user = UserChoiceField(label=_("User"), required=True)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices,
                             help_text=_("Supervisors get the first escalation."))  # fmt: skip
    accepts_cases = _active(_("Takes new cases"))


class MemberUpdateForm(ConfigForm):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    accepts_cases = forms.BooleanField(label=_("Takes new cases"), required=False)


# --- SLA and routing rules ---------------------------------------------------------------------


class CategoryChoiceField(forms.ModelChoiceField):
    """A category shown under its parent ("客户保留 › 流失挽回"), top-level ones first in code
    order, each followed by its sub-categories."""

    def __init__(self, **kwargs):
        rows = Category.objects.select_related("parent")
        rows = rows.order_by(Coalesce("parent__code", "code"), F("parent").asc(nulls_first=True),
                             "code")  # fmt: skip
        super().__init__(queryset=rows, required=False, empty_label=_("— any —"), **kwargs)

    def label_from_instance(self, obj) -> str:
        return f"{obj.parent.name} › {obj.name}" if obj.parent_id else obj.name


class SlaRuleForm(ConfigForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    target = forms.ChoiceField(label=_("Target"), choices=SlaRule.Target.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=ANY + Channel.choices, required=False)
    tier = forms.ChoiceField(label=_("Customer tier"), choices=ANY + Tier.choices, required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=ANY + Severity.choices,
                                 required=False)  # fmt: skip
    category = CategoryChoiceField(
        label=_("Category"),
        help_text=_("A top-level category includes its sub-categories. A rule naming a "
                    "category beats one naming channel, tier or severity."),
    )  # fmt: skip
    major_only = forms.BooleanField(label=_("Major complaints only"), required=False)
    minutes = forms.IntegerField(
        label=_("Working minutes"), required=False, min_value=1,
        help_text=_("E.g. 30, or 1440 for 24 working hours. Or give working days instead."),
    )  # fmt: skip
    working_days = forms.IntegerField(
        label=_("Working days"), required=False, min_value=1,
        help_text=_("Due at the end of the N-th working day after the case arrived."),
    )  # fmt: skip
    calendar = forms.ModelChoiceField(
        label=_("Business calendar"), queryset=BusinessCalendar.objects.order_by("name"),
        required=False, empty_label=_("— the case's usual calendar —"),
        help_text=_("Blank: 7×24 for urgent cases, else the department's, else the default."),
    )  # fmt: skip
    warn_percent = forms.IntegerField(
        label=_("Warn at (percent of the time)"), min_value=0, max_value=100, initial=80,
        help_text=_("The owner is warned then; 0 or 100: no warning."),
    )  # fmt: skip
    is_active = _active(_("Active"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        active = Q(is_active=True)
        if self.obj is not None and self.obj.category_id:  # one deactivated since may stay
            active |= Q(pk=self.obj.category_id)
        field = self.fields["category"]
        field.queryset = field.queryset.filter(active)


class RoutingRuleForm(ConfigForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    priority = forms.IntegerField(label=_("Priority"), min_value=0, max_value=32767, initial=100,
                                  help_text=_("Lower numbers are tried first."))  # fmt: skip
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all(),
                                      required=False, empty_label=_("— any —"))  # fmt: skip
    channel = forms.ChoiceField(label=_("Channel"), choices=ANY + Channel.choices, required=False)
    region = forms.CharField(label=_("Region"), max_length=64, required=False,
                             help_text=_("Blank matches any region."))  # fmt: skip
    store = forms.CharField(label=_("Store"), max_length=64, required=False,
                            help_text=_("Blank matches any store."))  # fmt: skip
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.filter(is_active=True)
    )
    strategy = forms.ChoiceField(label=_("Who in the department"),
                                 choices=AssignmentRule.Strategy.choices,
                                 initial=AssignmentRule.Strategy.LEAST_LOADED)  # fmt: skip
    assignee = UserChoiceField(label=_("Fixed person"),
                               help_text=_("Only for the strategy “Fixed person”."))  # fmt: skip
    is_active = _active(_("Active"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.obj is not None:  # a rule may keep naming a department deactivated since
            self.fields["department"].queryset = Department.objects.filter(
                is_active=True
            ) | Department.objects.filter(pk=self.obj.department_id)


class SolutionForm(ConfigForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all(),
                                      required=False, empty_label=_("— any —"))  # fmt: skip
    body = forms.CharField(label=_("Answer"), max_length=10_000,
                           widget=forms.Textarea(attrs={"rows": 8}))  # fmt: skip
    is_active = _active(_("Active (offered as a quick reply)"))


# --- business calendars ------------------------------------------------------------------------


def hours_text(intervals) -> str:
    """``[["09:00", "12:00"], ["13:30", "18:00"]]`` → ``"09:00-12:00, 13:30-18:00"``."""
    return ", ".join(f"{start}-{end}" for start, end in intervals or [])


def parse_hours(value: str) -> list[list[str]]:
    """The reverse of ``hours_text``; ValidationError when something else is in the text."""
    pairs = _INTERVAL.findall(value or "")
    if not _SEPARATORS.match(_INTERVAL.sub("", value or "")):
        raise ValidationError(_("Write the working hours as 09:00-12:00, 13:30-18:00."))
    return [[start.zfill(5), end.zfill(5)] for start, end in pairs]


def _day_field(day: int) -> forms.CharField:
    return forms.CharField(
        label=WEEKDAYS[day], required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("closed")}),
    )  # fmt: skip


def _dates_field(label, help_text) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip


class CalendarForm(ConfigForm):
    """A business calendar: one text field of working intervals per weekday (the gap between
    two intervals is the lunch break), time zone, holidays and the default flag."""

    name = forms.CharField(label=_("Name"), max_length=100)
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, initial="Asia/Shanghai")
    is_default = forms.BooleanField(
        label=_("Default calendar (for departments without one)"), required=False
    )
    always_open = forms.BooleanField(label=_("Open round the clock (7×24)"), required=False)
    use_chinese_holidays = forms.BooleanField(
        label=_("Chinese public holidays and make-up working days"), required=False, initial=True
    )
    extra_holidays = _dates_field(_("Extra holidays"), _("One date a line, e.g. 2027-02-06."))
    extra_workdays = _dates_field(
        _("Extra working days"), _("Worked with Monday's hours; one date a line.")
    )
    DAY_FIELDS = tuple(f"day_{day}" for day in range(7))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, name in enumerate(self.DAY_FIELDS):
            self.fields[name] = _day_field(day)
        if self.obj is None and not self.is_bound:
            for day in range(5):
                self.initial.setdefault(f"day_{day}", "09:00-12:00, 13:30-18:00")

    @classmethod
    def initial_for(cls, obj: BusinessCalendar) -> dict[str, Any]:
        initial = super().initial_for(obj)
        weekly = obj.weekly_hours or {}
        initial.update({f"day_{day}": hours_text(weekly.get(str(day))) for day in range(7)})
        for name in ("extra_holidays", "extra_workdays"):
            initial[name] = "\n".join(getattr(obj, name) or [])
        return initial

    def general_fields(self):
        return [self[name] for name in ("name", "time_zone", "is_default")]

    def day_fields(self):
        return [self[name] for name in self.DAY_FIELDS]

    def rule_fields(self):
        names = ("always_open", "use_chinese_holidays", "extra_holidays", "extra_workdays")
        return [self[name] for name in names]

    def clean(self):
        data = super().clean()
        for name in self.DAY_FIELDS:
            if name in data:
                try:
                    data[name] = parse_hours(data[name])
                except ValidationError as error:
                    self.add_error(name, error)
        return data

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        weekly = {str(day): data.pop(f"day_{day}") for day in range(7)}
        data["weekly_hours"] = {day: pairs for day, pairs in weekly.items() if pairs}
        for name in ("extra_holidays", "extra_workdays"):
            data[name] = [item for item in _DATE_SPLIT.split(data[name]) if item]
        return data

    def attach(self, error: ValidationError) -> None:
        attach_errors(self, error, aliases={"weekly_hours": self._day_of_message})

    def _day_of_message(self, message: str) -> str | None:
        """The service names the weekday first ("Monday: …"): put it on that day's field."""
        for day in range(7):
            if str(message).startswith(str(WEEKDAYS[day])):
                return f"day_{day}"
        return None
