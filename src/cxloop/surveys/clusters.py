"""Low-score clusters of a set of texts (survey comments here, case descriptions in
``cases.clusters``): which aspects and words low scorers name more than everyone, by place.

The method is :mod:`cxloop.insights.clusters`. The counts come from the database:

* **aspects** (stored on each row by the text worker) are counted by SQL: one grouped query for
  the places, a conditional count per aspect (the whole set's counts are their sums);
* **words** need the texts, so they are counted over bounded samples: every k-th text of the
  set for the base rate (``BASE_SAMPLE``), the newest ``LOW_SAMPLE`` low texts of the set and of
  each place shown (two queries: a window function ranks the rows inside each place). The
  report says when a sample was taken.

Examples come from the same samples: the newest low texts of the place naming the term, PII
masked for roles without the right. A report covers the ``MAX_PLACES`` places with most low
texts.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connections
from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import Mod, RowNumber
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from cxloop.core.pii import mask_phones_in_text
from cxloop.insights import clusters
from cxloop.surveys import analysis
from cxloop.surveys.models import Survey
from cxloop.surveys.text import aspect_labels, band_q, comment_of, open_text_keys

BASE_SAMPLE = 2000  # texts whose words give the base rates
LOW_SAMPLE = 400  # newest low texts per place (and of the whole set) for the words
MAX_PLACES = 12  # places shown, by low texts
PLACE_COLUMNS = ("region", "store")  # their values' words say where, not what: left out
EXAMPLES = 3
TERMS_PER_PLACE = 5  # aspects and as many words per place
OVERALL = ""  # the place label of the whole set
CACHE_SECONDS = 600

SURVEY_DIMENSIONS = {
    "region": _("Region"),
    "store": _("Store"),
    "channel": _("Channel"),
    "segment": _("Segment"),
}
SURVEY_LOW_RULES = {
    "nps": _("Detractors (NPS 0–6)"),
    "csat": _("Dissatisfied (CSAT 1–2 of 5)"),
    "negative": _("Negative comments"),
}


@dataclass(frozen=True)
class TextSet:
    """What the engine needs to know about one kind of text row."""

    rows: QuerySet  # rows that have a text, already filtered and permission-scoped
    low: Q  # the low-score rows
    aspect_field: str  # JSON list of aspect keys
    text_fields: tuple[str, ...]  # fetched to build the text
    text_of: Callable[[dict], str]
    show_text: bool = True  # False: aggregates only, no examples
    show_pii: bool = False
    cache_key: str = ""  # what the set is (kind, id, filters, rule): "" = never cached


@dataclass
class Row:
    """One finding, ready to show."""

    kind: str  # "aspect" or "word"
    term: str
    label: str
    lift: float
    share: float
    base_rate: float
    low_hits: int
    low_texts: int
    q_value: float
    examples: list[str] = field(default_factory=list)
    action_query: str = ""  # the prefilled "new improvement action" query string


@dataclass
class PlaceBlock:
    place: str
    texts: int
    low_texts: int
    rows: list[Row]
    label: str = ""  # how the place reads (a channel's name for its code); the place itself

    def __post_init__(self) -> None:
        self.label = self.label or self.place


@dataclass
class ClusterReport:
    by: str
    texts: int
    low_texts: int
    overall: list[Row]
    places: list[PlaceBlock]
    words_sampled: bool  # the words come from samples, not from every text

    @property
    def low_share(self) -> float | None:
        return self.low_texts / self.texts if self.texts else None


def cached_report(text_set: TextSet, *, by: str) -> ClusterReport:
    """:func:`build_report`, kept ``CACHE_SECONDS`` while the set has the same rows.

    The key holds the set's description, the reader's rights and language, and the count and
    newest id of its rows (one cheap aggregate), so a new or re-analysed text is seen at once
    and an edit to an old one within ``CACHE_SECONDS``."""
    if not text_set.cache_key:
        return build_report(text_set, by=by)
    state = text_set.rows.order_by().aggregate(n=Count("pk"), last=Max("pk"))
    parts = (text_set.cache_key, by, text_set.show_text, text_set.show_pii, get_language(),
             state["n"], state["last"])  # fmt: skip
    key = "clusters:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    report = cache.get(key)
    if report is None:
        report = build_report(text_set, by=by)
        cache.set(key, report, CACHE_SECONDS)
    return report


def build_report(text_set: TextSet, *, by: str) -> ClusterReport:
    """The report of ``text_set`` broken down by the ``by`` column."""
    keys = list(aspect_labels())
    base, places = _aspect_tallies(text_set, by, keys)
    shown = sorted((p for p in places if p), key=lambda p: (-places[p].low_texts, p))
    shown = shown[:MAX_PLACES]
    judged = {OVERALL: _overall_low(base), **{p: places[p] for p in shown}}
    aspect_rows = _rows("aspect", clusters.over_represented(judged, base), aspect_labels())
    samples = _low_samples(text_set, by, shown) if base.texts else {}
    word_rows, sampled = _word_rows(text_set, samples, base.texts)
    blocks = []
    for place in [OVERALL, *shown]:
        rows = _top(aspect_rows.get(place, [])) + _top(word_rows.get(place, []))
        tally = judged[place]
        blocks.append(PlaceBlock(place, tally.texts, tally.low_texts, rows))
    _add_aspect_examples(text_set, blocks, samples)
    overall = blocks.pop(0)
    return ClusterReport(by, base.texts, base.low_texts, overall.rows, blocks, sampled)


def _top(rows: list[Row]) -> list[Row]:
    return rows[:TERMS_PER_PLACE]


def _overall_low(base: clusters.Tally) -> clusters.Tally:
    return clusters.Tally(texts=base.texts, low_texts=base.low_texts, low_hits=base.low_hits)


def _aspect_q(text_set: TextSet, key: str) -> Q:
    # PostgreSQL: jsonb's "?" (a string element of the list), ~5x faster than matching the text.
    # JSON containment is not on SQLite; the key's quoted form is unambiguous in the list.
    if connections[text_set.rows.db].vendor == "postgresql":
        return Q(**{f"{text_set.aspect_field}__has_key": key})
    return Q(**{f"{text_set.aspect_field}__icontains": f'"{key}"'})


def _aspect_tallies(text_set: TextSet, by: str, keys: list[str]):
    low = text_set.low
    counts = {"n": Count("pk"), "low": Count("pk", filter=low)}
    for i, key in enumerate(keys):
        counts[f"low_{i}"] = Count("pk", filter=low & _aspect_q(text_set, key))
        counts[f"all_{i}"] = Count("pk", filter=_aspect_q(text_set, key))
    # One scan: the places partition the set, so the whole set's counts are their sums.
    grouped = list(text_set.rows.order_by().values(by).annotate(**counts))
    total = {name: sum(row[name] for row in grouped) for name in counts}
    base = _tally(total, keys, with_hits=True)
    places = {str(row[by] or ""): _tally(row, keys) for row in grouped}
    return base, places


def _tally(row: dict, keys: list[str], *, with_hits: bool = False) -> clusters.Tally:
    low_hits = {key: row[f"low_{i}"] for i, key in enumerate(keys) if row[f"low_{i}"]}
    hits = {key: row[f"all_{i}"] for i, key in enumerate(keys)} if with_hits else {}
    return clusters.Tally(texts=row["n"], low_texts=row["low"], low_hits=low_hits, hits=hits)


def _rows(kind: str, findings: list[clusters.Finding], labels: dict) -> dict[str, list[Row]]:
    by_place: dict[str, list[Row]] = {}
    for f in findings:
        row = Row(kind, f.term, str(labels.get(f.term, f.term)), f.lift, f.share, f.base_rate,
                  f.low_hits, f.low_texts, f.q_value)  # fmt: skip
        by_place.setdefault(f.place, []).append(row)
    return by_place


# --- words ------------------------------------------------------------------------------------


@dataclass
class _Sample:
    """The newest low-score rows of a place (newest first), and whether more exist."""

    rows: list[dict]
    more: bool


def _low_samples(text_set: TextSet, by: str, shown: list[str]) -> dict[str, _Sample]:
    """The newest ``LOW_SAMPLE`` low rows of the whole set and of each shown place, in two
    queries (a window function ranks the rows inside each place)."""
    fields = list(dict.fromkeys(["pk", by, text_set.aspect_field, *text_set.text_fields]))
    low_rows = text_set.rows.filter(text_set.low)
    overall = list(low_rows.order_by("-pk").values(*fields)[: LOW_SAMPLE + 1])
    samples = {OVERALL: _Sample(overall[:LOW_SAMPLE], len(overall) > LOW_SAMPLE)}
    if not shown:
        return samples
    newest = Window(RowNumber(), partition_by=[F(by)], order_by=F("pk").desc())
    ranked = low_rows.filter(**{f"{by}__in": shown}).annotate(_rank=newest)
    grouped: dict[str, list[dict]] = {place: [] for place in shown}
    for row in ranked.filter(_rank__lte=LOW_SAMPLE + 1).values(*fields):
        grouped[str(row[by])].append(row)
    for place, rows in grouped.items():
        rows.sort(key=lambda row: -row["pk"])
        samples[place] = _Sample(rows[:LOW_SAMPLE], len(rows) > LOW_SAMPLE)
    return samples


def _word_rows(text_set: TextSet, samples: dict[str, _Sample], total: int):
    """Word findings per place from the samples; whether any sample left texts out."""
    if not total:
        return {}, False
    step = max(1, math.ceil(total / BASE_SAMPLE))
    base_rows = text_set.rows.order_by().annotate(_bucket=Mod("pk", step)).filter(_bucket=0)
    base_rows = list(base_rows.values(*text_set.text_fields, *PLACE_COLUMNS))
    exclude = _place_words(base_rows, samples)
    base_texts = [text_set.text_of(row) for row in base_rows]
    base = clusters.word_tally(base_texts, [False] * len(base_texts), exclude=exclude)
    judged, texts_by_place = {}, {}
    for place, sample in samples.items():
        texts = [text_set.text_of(row) for row in sample.rows]
        judged[place] = clusters.word_tally(texts, [True] * len(texts), exclude=exclude)
        texts_by_place[place] = texts
    rows = _rows("word", clusters.over_represented(judged, base), {})
    if text_set.show_text:
        for place, place_rows in rows.items():
            for row in _top(place_rows):
                row.examples = _word_examples(texts_by_place[place], row.term, text_set)
    sampled = step > 1 or any(sample.more for sample in samples.values())
    return rows, sampled


def _place_words(base_rows: list[dict], samples: dict[str, _Sample]) -> frozenset[str]:
    """The words of the region and store names seen in the samples: they say where."""
    names = {row.get(column) for row in base_rows for column in PLACE_COLUMNS}
    for sample in samples.values():
        names.update(row.get(column) for row in sample.rows for column in PLACE_COLUMNS)
    return frozenset(word for name in names if name for word in clusters.words(str(name)))


def _word_examples(texts: list[str], term: str, text_set: TextSet) -> list[str]:
    found = [text for text in texts if term in clusters.words(text)][:EXAMPLES]
    return [_shown(text, text_set) for text in found]


def _shown(text: str, text_set: TextSet) -> str:
    return text if text_set.show_pii else mask_phones_in_text(text)


def _add_aspect_examples(
    text_set: TextSet, blocks: list[PlaceBlock], samples: dict[str, _Sample]
) -> None:
    """Examples of each aspect finding: the newest sampled low texts of the place naming it."""
    if not text_set.show_text:
        return
    for block in blocks:
        sample = samples.get(block.place)
        for row in block.rows:
            if row.kind != "aspect" or sample is None:
                continue
            naming = [r for r in sample.rows if row.term in (r[text_set.aspect_field] or [])]
            row.examples = [_shown(text_set.text_of(r), text_set) for r in naming[:EXAMPLES]]


# --- problem -> cause -> action -------------------------------------------------------------


def attach_action_links(report: ClusterReport, *, by_label: str, source: str) -> None:
    """Give every finding the query string of a prefilled new improvement action."""
    whole = PlaceBlock("", report.texts, report.low_texts, report.overall)
    for block in [whole, *report.places]:
        store = block.place if report.by == "store" else ""
        for row in block.rows:
            row.action_query = _action_query(
                row, block, by_label=by_label, source=source, store=store
            )


def _action_query(row: Row, block: PlaceBlock, *, by_label: str, source: str, store: str) -> str:
    where = f"{by_label} {block.label}" if block.place else gettext("the whole set")
    values = {"place": where, "term": row.label, "lift": f"{row.lift:.1f}"}
    title = gettext("%(place)s: %(term)s, %(lift)s× the base rate") % values
    facts = {
        "source": source, "place": where, "term": row.label, "hits": row.low_hits,
        "low": row.low_texts, "share": f"{row.share:.0%}", "base": f"{row.base_rate:.0%}",
    }  # fmt: skip
    evidence = gettext(
        "Low-score cluster in %(source)s, %(place)s: %(hits)d of %(low)d low-score texts "
        "(%(share)s) name “%(term)s”, against %(base)s of all texts."
    )
    lines = [evidence % facts, *(f"- {example[:200]}" for example in row.examples)]
    query = {"title": title[:200], "description": "\n".join(lines)[:2000], "source_kind": "cluster"}
    if store:
        query["store"] = store[:64]
    return urlencode(query)


# --- export -----------------------------------------------------------------------------------

EXPORT_FORMATS = ("csv", "xlsx")


def export_response(report: ClusterReport, *, by_label: str, fmt: str, file_name: str):
    """The findings as a CSV/XLSX download, one line per finding, the whole set first."""
    from cxloop.customers.exporting import download_response

    headers = [by_label, gettext("Kind"), gettext("Term"), gettext("Lift"), gettext("Share"),
               gettext("Base rate"), gettext("Low-score texts naming it"),
               gettext("Low-score texts"), gettext("q-value"), gettext("Example")]  # fmt: skip
    whole = PlaceBlock("", report.texts, report.low_texts, report.overall, gettext("All"))
    rows = [
        [
            block.label,
            row.kind,
            row.label,
            round(row.lift, 3),
            round(row.share, 4),
            round(row.base_rate, 4),
            row.low_hits,
            row.low_texts,
            float(f"{row.q_value:.3g}"),
            row.examples[0] if row.examples else "",
        ]  # fmt: skip
        for block in [whole, *report.places]
        for row in block.rows
    ]
    return download_response(headers, rows, fmt=fmt, file_name=file_name)


# --- survey responses -------------------------------------------------------------------------


def default_low_rule(survey: Survey) -> str:
    """NPS detractors when the survey has NPS answers, else low CSAT, else negative comments."""
    answered = analysis.responses(survey=survey)
    if answered.filter(nps__isnull=False).exists():
        return "nps"
    return "csat" if answered.filter(csat__isnull=False).exists() else "negative"


def _survey_low_q(rule: str) -> Q:
    if rule == "nps":
        return Q(nps__lte=6)
    if rule == "csat":
        return Q(csat__lte=2)
    if rule == "negative":
        return band_q("comment_sentiment", "negative")
    raise ValueError(f"unknown low-score rule {rule!r}")


def survey_text_set(
    *, survey: Survey, filters: analysis.Filters, low: str, show_pii: bool, show_text: bool
) -> TextSet:
    """The commented, analysed responses of ``survey`` the filters keep."""
    rows = analysis.responses(survey=survey, filters=filters).filter(
        comment_sentiment__isnull=False
    )
    keys_by_version: dict[int, list[str]] = {}

    def text_of(row: dict) -> str:
        version_id = row["version_id"]
        if version_id not in keys_by_version:
            definition = survey.versions.get(pk=version_id).definition
            keys_by_version[version_id] = open_text_keys(definition)
        return comment_of(row["answers"] or {}, keys_by_version[version_id])

    return TextSet(
        rows=rows,
        low=_survey_low_q(low),
        aspect_field="comment_aspects",
        text_fields=("version_id", "answers"),
        text_of=text_of,
        show_text=show_text,
        show_pii=show_pii,
        cache_key=f"survey:{survey.pk}:{low}:{filters!r}",
    )


def survey_clusters(
    *,
    survey: Survey,
    filters: analysis.Filters,
    by: str,
    low: str,
    show_pii: bool = False,
    show_text: bool = True,
) -> ClusterReport:
    """The low-score clusters of ``survey``'s commented responses, broken down by ``by``."""
    if by not in SURVEY_DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    text_set = survey_text_set(
        survey=survey, filters=filters, low=low, show_pii=show_pii, show_text=show_text
    )
    return cached_report(text_set, by=by)
