"""Read side of programs: filtered idea and action lists, audit scores per store, their monthly
trend and the weakest stores per checklist item — SQL aggregates, no loops over rows."""

from __future__ import annotations

from django.db.models import Avg, Count, F, FloatField, QuerySet
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone

from cxloop.programs.models import AuditScore, Idea, ImprovementAction, MysteryAudit
from cxloop.surveys.text import band_q

WEAKEST_PER_ITEM = 3


def idea_list(
    *, status: str = "", sentiment: str = "", aspect: str = "", store: str = "", week: str = ""
) -> QuerySet[Idea]:
    ideas = Idea.objects.select_related("customer", "author_user")
    if status:
        ideas = ideas.filter(status=status)
    if sentiment:
        ideas = ideas.filter(band_q("sentiment", sentiment))
    if aspect:
        ideas = ideas.filter(aspects__icontains=f'"{aspect}"')
    if store:
        ideas = ideas.filter(store=store)
    if week:
        ideas = ideas.filter(week=week)
    return ideas.order_by("-created_at", "-id")


def idea_stores() -> list[str]:
    return list(Idea.objects.exclude(store="").values_list("store", flat=True).distinct()[:200])


def action_list(*, status: str = "", source: str = "", store: str = "") -> QuerySet:
    actions = ImprovementAction.objects.select_related("owner", "idea", "audit_score__audit")
    if status:
        actions = actions.filter(status=status)
    if source:
        actions = actions.filter(source_kind=source)
    if store:
        actions = actions.filter(store=store)
    return actions.order_by("status", "due_date", "-created_at")


def _audits(template=None) -> QuerySet[MysteryAudit]:
    audits = MysteryAudit.objects.all()
    return audits.filter(template=template) if template is not None else audits


def store_averages(template=None) -> list[dict]:
    """Per store: audits, average score (%), lowest and latest visit; weakest first."""
    rows = (
        _audits(template)
        .values("store")
        .annotate(audits=Count("id"), average=Avg("score_percent"))
        .order_by("average", "store")
    )
    return list(rows)


def monthly_trend(template=None) -> dict[str, list[tuple[str, float]]]:
    """Store → [(YYYY-MM, average %)] in Asia/Shanghai months."""
    month = TruncMonth("visited_at", tzinfo=timezone.get_current_timezone())
    rows = (
        _audits(template)
        .annotate(month=month)
        .values("store", "month")
        .annotate(average=Avg("score_percent"))
        .order_by("store", "month")
    )
    trend: dict[str, list[tuple[str, float]]] = {}
    for row in rows:
        trend.setdefault(row["store"], []).append((row["month"].strftime("%Y-%m"), row["average"]))
    return trend


def weakest_stores(template=None, per_item: int = WEAKEST_PER_ITEM) -> list[dict]:
    """Per checklist item, the stores with the lowest average share of the maximum (%)."""
    scores = AuditScore.objects.all()
    if template is not None:
        scores = scores.filter(audit__template=template)
    share = Cast(F("score"), FloatField()) * 100.0 / Cast(F("max_score"), FloatField())
    rows = (
        scores.values("item_id", "item__text", "item__template__name", "audit__store")
        .annotate(average=Avg(share), n=Count("id"))
        .order_by("item__template__name", "item__position", "item_id", "average")
    )
    items: dict[int, dict] = {}
    for row in rows:
        entry = items.setdefault(
            row["item_id"],
            {"text": row["item__text"], "template": row["item__template__name"], "stores": []},
        )
        if len(entry["stores"]) < per_item:
            entry["stores"].append(
                {"store": row["audit__store"], "average": row["average"], "n": row["n"]}
            )
    return list(items.values())
