"""Console pages to design surveys: list, create, import/export, the editor, publish and close.

The editor works as plain HTML forms (each POST redirects back) and, with htmx, swaps the
editor region in place so the design warnings and the preview refresh after every change.
Every change builds a new definition dict and goes through ``services.update_draft``, which
validates it; on error the form is re-rendered with the user's input and the draft is untouched.
"""

from __future__ import annotations

import json
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cxloop.core.roles import require
from cxloop.surveys import builtin, editor_ops, interchange, services
from cxloop.surveys.definition import DefinitionError, parse_definition, text_for
from cxloop.surveys.design_checks import check_design
from cxloop.surveys.editor_forms import (
    TYPE_LABELS,
    AddQuestionForm,
    ImportForm,
    PageTitleForm,
    QuestionForm,
    SurveySettingsForm,
    attach_errors,
)
from cxloop.surveys.logic import ConditionError, compile_condition
from cxloop.surveys.models import Survey

PAGE_SIZE = 25
EDITOR_ID = "survey-editor"
MAX_VERSIONS_SHOWN = 20
QUESTION_PATH = re.compile(r"^pages\[(\d+)\]\.questions\[(\d+)\](.*)$")


def _survey_for(request, survey_id: int, *perms: str) -> Survey:
    require(request.user, *perms)
    return get_object_or_404(Survey, pk=survey_id)


def _language(definition: dict) -> str:
    return definition.get("language") or "zh-hans"


# --- list, create, import, export -------------------------------------------------------------


@login_required
@require_GET
def survey_list(request):
    require(request.user, "surveys.view_survey")
    surveys = (
        Survey.objects.select_related("current_version")
        .annotate(
            response_count=Count("responses", filter=Q(responses__submitted_at__isnull=False))
        )
        .order_by("-updated_at", "-id")
    )  # explicit order: Meta.ordering does not apply to aggregate queries
    context = {
        "page": Paginator(surveys, PAGE_SIZE).get_page(request.GET.get("page")),
        "templates": _template_choices(),
    }
    return render(request, "surveys/editor/list.html", context)


def _template_choices() -> list[dict]:
    """The built-in templates with title and purpose in the console's language."""
    language = get_language()
    choices = []
    for key in builtin.TEMPLATE_KEYS:
        definition = builtin.get_template(key)
        purpose = (definition.get("intro") or {}).get("purpose")
        choices.append(
            {
                "key": key,
                "title": text_for(definition.get("title"), language),
                "description": text_for(purpose, language),
            }
        )
    return choices


@login_required
@require_POST
def survey_create(request):
    require(request.user, "surveys.add_survey")
    template = request.POST.get("template", "")
    if template and template not in builtin.TEMPLATE_KEYS:
        messages.error(request, _("Unknown template."))
        return redirect("surveys:list")
    if template:
        survey = services.create_from_template(template_key=template, actor=request.user)
    else:
        survey = services.create_survey(title=_("Untitled survey"), actor=request.user)
    messages.success(request, _("Survey created."))
    return redirect("surveys:edit", survey_id=survey.pk)


@login_required
def survey_import(request):
    require(request.user, "surveys.add_survey")
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            survey = services.import_survey(data=form.cleaned_data["data"], actor=request.user)
        except DefinitionError as error:
            problems = _error_lines(error.errors, form.cleaned_data["data"])
        else:
            messages.success(request, _("Survey imported."))
            for warning in getattr(survey, "import_warnings", []):
                messages.warning(request, warning)
            return redirect("surveys:edit", survey_id=survey.pk)
    return render(request, "surveys/editor/import.html", {"form": form, "problems": problems})


@login_required
@require_GET
def survey_export(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.view_survey")
    body = json.dumps(interchange.export_definition(survey.draft), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.key}.json"'
    return response


@login_required
@require_GET
def survey_preview(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.view_survey")
    context = {"survey": survey, "preview": editor_ops.preview(survey.draft)}
    return render(request, "surveys/editor/preview.html", context)


# --- the editor ---------------------------------------------------------------------------------


@login_required
@require_GET
def survey_edit(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.change_survey")
    return _render_editor(request, survey)


@login_required
@require_POST
def settings_save(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.change_survey")
    language = _language(survey.draft)
    form = SurveySettingsForm.for_definition(survey.draft, language, data=request.POST)
    if not form.is_valid():
        return _render_editor(request, survey, settings_form=form)
    changed = form.apply(survey.draft, language)
    return _save(request, survey, changed, form=form, prefix="", anchor="survey-settings")


@login_required
@require_POST
def question_save(request, survey_id: int, key: str):
    survey = _survey_for(request, survey_id, "surveys.change_survey")
    located = _locate_question(survey.draft, key)
    if located is None:
        return _gone(request, survey)
    page_index, index, question = located
    form = _question_form(survey, question, data=request.POST)
    if not form.is_valid():
        return _render_editor(request, survey, question_forms={key: form})
    changed = editor_ops.replace_question(survey.draft, key=key, question=form.to_question())
    prefix = f"pages[{page_index}].questions[{index}]"
    new_key = form.cleaned_data["key"]
    return _save(request, survey, changed, form=form, prefix=prefix, anchor=f"q-{new_key}")


@login_required
@require_POST
def question_add(request, survey_id: int, page_index: int):
    survey = _survey_for(request, survey_id, "surveys.change_survey")
    form = AddQuestionForm(request.POST)
    if not form.is_valid():
        return _render_editor(request, survey, errors=[_("Choose a question type.")])
    try:
        changed = editor_ops.add_question(
            survey.draft,
            page_index=page_index,
            qtype=form.cleaned_data["type"],
            language=_language(survey.draft),
        )
    except editor_ops.EditError as error:
        return _render_editor(request, survey, errors=[str(error)])
    new_key = editor_ops.free_key(survey.draft)  # the key add_question just gave it
    return _save(request, survey, changed, anchor=f"q-{new_key}")


QUESTION_ACTIONS = {
    "up": lambda definition, key: editor_ops.move_question(definition, key=key, step=-1),
    "down": lambda definition, key: editor_ops.move_question(definition, key=key, step=1),
    "delete": lambda definition, key: editor_ops.delete_question(definition, key=key),
}


@login_required
@require_POST
def question_action(request, survey_id: int, key: str, action: str):
    survey = _survey_for(request, survey_id, "surveys.change_survey")
    if action not in QUESTION_ACTIONS:
        return _render_editor(request, survey, errors=[_("Unknown action.")], status=400)
    try:
        changed = QUESTION_ACTIONS[action](survey.draft, key)
    except editor_ops.EditError as error:
        return _render_editor(request, survey, errors=[str(error)])
    return _save(request, survey, changed, anchor="" if action == "delete" else f"q-{key}")


@login_required
@require_POST
def page_add(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.change_survey")
    changed = editor_ops.add_page(survey.draft, language=_language(survey.draft))
    return _save(request, survey, changed, anchor=f"page-{len(changed['pages']) - 1}")


@login_required
@require_POST
def page_action(request, survey_id: int, page_index: int, action: str):
    survey = _survey_for(request, survey_id, "surveys.change_survey")
    draft, language = survey.draft, _language(survey.draft)
    try:
        if action == "rename":
            form = PageTitleForm(request.POST, prefix=f"page-{page_index}")
            title = form.cleaned_data["title"] if form.is_valid() else ""
            changed = editor_ops.rename_page(
                draft, page_index=page_index, title=title, language=language
            )
        elif action in ("up", "down"):
            step = -1 if action == "up" else 1
            changed = editor_ops.move_page(draft, page_index=page_index, step=step)
        elif action == "delete":
            changed = editor_ops.delete_page(draft, page_index=page_index)
        else:
            return _render_editor(request, survey, errors=[_("Unknown action.")], status=400)
    except editor_ops.EditError as error:
        return _render_editor(request, survey, errors=[str(error)])
    return _save(request, survey, changed, anchor="")


@login_required
@require_GET
def condition_check(request, survey_id: int, key: str):
    """Live check of a ``show_if`` while it is typed (htmx); the save checks it again."""
    survey = _survey_for(request, survey_id, "surveys.change_survey")
    text = next((v for name, v in request.GET.items() if name.endswith("show_if")), "").strip()
    message, valid = "", True
    if text:
        try:
            condition = compile_condition(text)
        except ConditionError as error:
            message, valid = error.message, False
        else:
            earlier = _keys_before(survey.draft, key)
            unknown = sorted(condition.names - earlier)
            if unknown:
                message = _("%(name)s is not a question before this one.") % {"name": unknown[0]}
                valid = False
    context = {"message": message, "valid": valid, "empty": not text}
    return render(request, "surveys/editor/_condition_status.html", context)


def _keys_before(definition: dict, key: str) -> set[str]:
    keys = editor_ops.question_keys(definition)
    return set(keys[: keys.index(key)]) if key in keys else set(keys)


@login_required
@require_POST
def survey_publish(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.publish_survey")
    previous = survey.current_version_id
    try:
        version = services.publish_survey(survey=survey, actor=request.user)
    except DefinitionError as error:
        return _render_editor(request, survey, errors=_error_lines(error.errors, survey.draft))
    if version.pk == previous:
        text = _("Nothing changed since version %(number)d, so no new version.")
    else:
        text = _("Published version %(number)d.")
    messages.success(request, text % {"number": version.number})
    survey.refresh_from_db()
    return _after_change(request, survey, anchor="")


@login_required
@require_POST
def survey_close(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.publish_survey")
    survey = services.close_survey(survey=survey, actor=request.user)
    messages.success(request, _("The survey is closed and no longer collects answers."))
    return _after_change(request, survey, anchor="")


# --- saving and rendering -----------------------------------------------------------------------


def _save(request, survey: Survey, changed: dict, *, form=None, prefix: str = "", anchor: str):
    """Store ``changed`` as the draft, or re-render with its errors and the draft unchanged."""
    try:
        survey = services.update_draft(survey=survey, definition=changed, actor=request.user)
    except DefinitionError as error:
        rest = attach_errors(form, error.errors, prefix=prefix) if form else error.errors
        forms = {}
        if isinstance(form, QuestionForm):
            forms["question_forms"] = {form.question.get("key"): form}
        elif form is not None:
            forms["settings_form"] = form
        return _render_editor(request, survey, errors=_error_lines(rest, changed), **forms)
    return _after_change(request, survey, anchor=anchor)


def _after_change(request, survey: Survey, *, anchor: str):
    if request.htmx:
        return _render_editor(request, survey, open_key=anchor.removeprefix("q-"))
    url = reverse("surveys:edit", kwargs={"survey_id": survey.pk})
    return redirect(f"{url}#{anchor}" if anchor else url)


def _gone(request, survey: Survey):
    return _render_editor(request, survey, errors=[_("That question no longer exists.")])


def _render_editor(request, survey: Survey, *, status: int = 200, **overrides):
    context = _editor_context(request, survey, **overrides)
    partial = bool(request.htmx) and request.htmx.target == EDITOR_ID
    template = "surveys/editor/_editor.html" if partial else "surveys/editor/edit.html"
    context["partial"] = partial
    return render(request, template, context, status=status)


def _editor_context(
    request,
    survey: Survey,
    *,
    errors: list[str] | None = None,
    settings_form=None,
    question_forms: dict | None = None,
    open_key: str = "",
) -> dict:
    draft = survey.draft or {}
    language = _language(draft)
    question_forms = question_forms or {}
    try:
        parsed = parse_definition(draft)
    except DefinitionError as error:  # a draft stored before validation existed
        parsed, errors = None, (errors or []) + _error_lines(error.errors, draft)
    warnings = check_design(parsed) if parsed else []
    warned_keys = {warning.question_key for warning in warnings if warning.question_key}
    pages = [
        _page_entry(survey, index, page, question_forms, open_key, warned_keys)
        for index, page in enumerate(draft.get("pages") or [])
    ]
    return {
        "survey": survey,
        "editor_id": EDITOR_ID,
        "language": language,
        "settings_form": settings_form or SurveySettingsForm.for_definition(draft, language),
        "settings_open": settings_form is not None,
        "pages": pages,
        "add_form": AddQuestionForm(),
        "type_labels": TYPE_LABELS,
        "errors": errors or [],
        "warnings": warnings,
        "versions": survey.versions.select_related("published_by")[:MAX_VERSIONS_SHOWN],
        "preview": editor_ops.preview(draft),
        "can_publish": request.user.has_perm("surveys.publish_survey"),
    }


def _question_form(survey: Survey, question: dict, data=None) -> QuestionForm:
    check_url = reverse("surveys:condition_check", args=[survey.pk, question.get("key", "")])
    return QuestionForm(
        data, question=question, language=_language(survey.draft), condition_url=check_url
    )


def _page_entry(survey, index, page, question_forms, open_key, warned_keys) -> dict:
    """One page of the editor: its title form and a form per question."""
    language = _language(survey.draft)
    items = []
    for question in page.get("questions") or []:
        key = question.get("key", "")
        items.append(
            {
                "key": key,
                "type_label": TYPE_LABELS.get(question.get("type"), question.get("type")),
                "text": editor_ops.text_in(
                    question.get("text") or question.get("feature"), language
                ),
                "question": question,
                "form": question_forms.get(key) or _question_form(survey, question),
                "open": key == open_key or key in question_forms,
                "warned": key in warned_keys,
            }
        )
    title_form = PageTitleForm(
        initial={"title": editor_ops.text_in(page.get("title"), language)}, prefix=f"page-{index}"
    )
    return {"index": index, "page": page, "title_form": title_form, "items": items}


def _locate_question(definition: dict, key: str) -> tuple[int, int, dict] | None:
    for page_index, page in enumerate(definition.get("pages") or []):
        for index, question in enumerate(page.get("questions") or []):
            if question.get("key") == key:
                return page_index, index, question
    return None


def _error_lines(errors: dict[str, list[str]], definition) -> list[str]:
    """``pages[0].questions[2].show_if: message`` → ``comment · show_if: message``."""
    lines = []
    for path, messages_ in errors.items():
        where = _describe_path(path, definition)
        lines.extend(f"{where}: {message}" if where else message for message in messages_)
    return lines


def _describe_path(path: str, definition) -> str:
    if path in ("", "pages"):
        return ""
    match = QUESTION_PATH.match(path)
    if not match or not isinstance(definition, dict):
        return path
    try:
        question = definition["pages"][int(match[1])]["questions"][int(match[2])]
        key = question.get("key") or "?"
    except (KeyError, IndexError, TypeError, AttributeError):
        return path
    rest = match[3].lstrip(".")
    return f"{key} · {rest}" if rest else str(key)
