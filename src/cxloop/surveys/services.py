"""Writes to surveys: create, edit the draft, publish a version, close, import. All audited.

The draft is edited freely (design warnings never block saving, invalid definitions do);
publishing freezes the draft as a new numbered ``SurveyVersion`` only when it changed since the
last version, so re-publishing an unchanged survey does not split its responses across versions.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from cxloop.core.audit import changed_only, record_audit, snapshot
from cxloop.surveys import builtin, interchange
from cxloop.surveys.definition import (
    FORMAT,
    DefinitionError,
    iter_questions,
    parse_definition,
    text_for,
)
from cxloop.surveys.models import Survey, SurveyVersion

SURVEY_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Words the API uses as paths next to survey keys (/api/v1/surveys/import).
RESERVED_KEYS = frozenset({"import"})
AUDITED_FIELDS = ("key", "title", "status", "current_version")
TITLE_MAX = 200


def empty_definition(title: str) -> dict:
    """A new survey: one empty page; the editor adds questions."""
    return {
        "format": FORMAT,
        "title": title,
        "language": "zh-hans",
        "intro": {"minutes": 3},
        "pages": [{"key": "p1", "questions": []}],
    }


@transaction.atomic
def create_survey(
    *, title: str, key: str | None = None, definition: dict | None = None, actor
) -> Survey:
    """A new draft survey; ``key`` defaults to a slug of the title (or ``s-<random>``)."""
    title = _clean_title(str(title))
    parsed = parse_definition(definition if definition is not None else empty_definition(title))
    survey = Survey(
        key=_survey_key(key, title),
        title=title,
        draft=parsed.to_json(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    try:
        with transaction.atomic():
            survey.save()
    except IntegrityError:  # another request took the key between our check and insert
        raise DefinitionError({"key": [_("Another survey already uses this key.")]}) from None
    record_audit(
        actor=actor,
        action="survey.create",
        target=survey,
        after={**snapshot(survey, AUDITED_FIELDS), "draft": survey.draft},
    )
    return survey


def create_from_template(*, template_key: str, actor) -> Survey:
    """A new draft survey holding a copy of a built-in template."""
    try:
        definition = builtin.get_template(template_key)
    except builtin.TemplateNotFound:
        raise DefinitionError({"template_key": [_("Unknown template.")]}) from None
    title = text_for(definition["title"], definition["language"])
    return create_survey(title=title, definition=definition, actor=actor)


@transaction.atomic
def update_draft(*, survey: Survey, definition: dict, actor) -> Survey:
    """Replace the draft after validation; raises DefinitionError and changes nothing if invalid."""
    parsed = parse_definition(definition)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    before = {"title": survey.title, "draft": survey.draft}
    survey.draft = parsed.to_json()
    survey.title = _clean_title(text_for(parsed.title, parsed.language))
    after = {"title": survey.title, "draft": survey.draft}
    if before == after:
        return survey
    survey.updated_at = timezone.now()
    survey.save(update_fields=["draft", "title", "updated_at"])
    before, after = changed_only(before, after)
    record_audit(
        actor=actor, action="survey.update_draft", target=survey, before=before, after=after
    )
    return survey


@transaction.atomic
def publish_survey(*, survey: Survey, actor) -> SurveyVersion:
    """Freeze the draft as the current version (a new one only if it changed) and open it."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    parsed = parse_definition(survey.draft)
    if not any(True for _question in iter_questions(parsed)):
        raise DefinitionError({"pages": [_("Add at least one question before publishing.")]})
    frozen = parsed.to_json()
    latest = survey.versions.order_by("-number").first()
    before = {"version": _number(survey.current_version), "status": survey.status}
    if latest is not None and latest.definition == frozen:
        version = latest
    else:
        version = SurveyVersion.objects.create(
            survey=survey,
            number=(latest.number + 1) if latest else 1,
            definition=frozen,
            published_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
    survey.current_version = version
    survey.status = Survey.Status.ACTIVE
    after = {"version": version.number, "status": survey.status}
    if before != after:
        survey.updated_at = timezone.now()
        survey.save(update_fields=["current_version", "status", "updated_at"])
        record_audit(
            actor=actor, action="survey.publish", target=survey, before=before, after=after
        )
    return version


@transaction.atomic
def close_survey(*, survey: Survey, actor) -> Survey:
    """Stop collecting answers; links of a closed survey show a "closed" page."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status == Survey.Status.CLOSED:
        return survey
    before = {"status": survey.status}
    survey.status = Survey.Status.CLOSED
    survey.updated_at = timezone.now()
    survey.save(update_fields=["status", "updated_at"])
    record_audit(
        actor=actor,
        action="survey.close",
        target=survey,
        before=before,
        after={"status": survey.status},
    )
    return survey


def import_survey(*, data: Any, actor, key: str | None = None) -> Survey:
    """A new draft survey from our JSON format or SurveyJS JSON (see ``interchange``).

    Conditions that could not be converted are dropped; their messages are kept on the
    returned survey as ``import_warnings`` so the caller can show them.
    """
    definition, warnings = interchange.convert_definition(data)
    title = text_for(definition.get("title"), definition.get("language") or "zh-hans")
    survey = create_survey(
        title=title or str(_("Imported survey")), key=key, definition=definition, actor=actor
    )
    survey.import_warnings = warnings
    return survey


def _number(version: SurveyVersion | None) -> int | None:
    return version.number if version is not None else None


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise DefinitionError({"title": [_("The survey needs a title.")]})
    return title[:TITLE_MAX]


def _survey_key(key: str | None, title: str) -> str:
    """The given key (checked), else a slug of the title, else ``s-<random>`` (Chinese titles)."""
    if key is not None:
        key = key.strip().lower()
        if not SURVEY_KEY_RE.match(key):
            message = _("Use lower-case letters, digits, - and _ (at most 64).")
            raise DefinitionError({"key": [message]})
        if key in RESERVED_KEYS:
            raise DefinitionError({"key": [_("This key is reserved; choose another.")]})
        if Survey.objects.filter(key=key).exists():
            raise DefinitionError({"key": [_("Another survey already uses this key.")]})
        return key
    base = slugify(title)[:48].strip("-_")
    if base and base not in RESERVED_KEYS and not Survey.objects.filter(key=base).exists():
        return base
    prefix = base or "s"
    return f"{prefix}-{secrets.token_hex(4)}"
