"""Benchmark: the low-score clusters report on 1,000,000 survey responses, against DuckDB.

    .venv/bin/python bench/bench_clusters.py [--rows 1000000] [--repeat 3]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Sets up its own database (a temporary SQLite file, or a ``cxloop_bench_clusters`` database that
it creates and drops on the PostgreSQL server of ``--database-url``), migrates it and inserts
``--rows`` responses of one survey (seeded NumPy): 5 regions, 200 stores, 4 channels, 3
segments, NPS 0–10 with ~25 % detractors, ~35 % of the rows with a short Chinese comment put
together from a few hundred phrases (delivery, attitude, price, quality, environment, …). The
comments are analysed like the text worker does (``insights.text.sentiment`` / ``aspects``,
once per distinct comment). Planted cluster: the detractors of region 华东 and of three stores
elsewhere (which also have more detractors) name logistics far more often.

Then times, best of ``--repeat``, the real call
``surveys.clusters.survey_clusters(survey=…, filters=Filters(), by=…, low="nps")`` for
``by="region"`` and ``by="store"``:

* **cold**: the report cache (``surveys.clusters.cached_report``, the Django cache) and the words
  cache (``insights.clusters._words``) emptied before each run, so the report is built and every
  sampled comment is cut by jieba again — the honest figure, what a report on new data costs;
* **words cached**: the report built again, its comments' words already cached;
* **report cached**: the same call again within ``CACHE_SECONDS`` on unchanged rows (the cache
  key's count of the set, then the cached report);
* the very first call also loads jieba's dictionary, and is printed on its own.

Each cold run is split into its parts (the SQL aspect counts, the word samples and their jieba
cutting, the examples) by wrapping the module's functions for the run. The baseline, in the same
process, is the same aspect counts (per place: texts, low texts, low texts naming each aspect;
for the whole set also all texts naming each aspect) in DuckDB over the same rows in memory;
the two must agree, and the planted cluster must be found.

Goal: the whole report ≤ 3 s (cold) at 1M responses, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import time
from collections import defaultdict

import benchdb
import numpy as np

BENCH_DB = "cxloop_bench_clusters"
GOAL_S = 3.0
CITIES = {
    "华东": ("上海", "杭州", "南京", "苏州"),
    "华南": ("广州", "深圳", "厦门", "南宁"),
    "华北": ("北京", "天津", "太原", "济南"),
    "西南": ("成都", "重庆", "昆明", "贵阳"),
    "东北": ("沈阳", "大连", "长春", "哈尔滨"),
}
REGIONS = np.array(list(CITIES), dtype=object)
STORES = np.array(
    [f"{city}{n}号店" for cities in CITIES.values() for city in cities for n in range(1, 11)],
    dtype=object,
)  # 40 per region, in region order: store i is in region i // 40
CHANNELS = np.array(["sms", "wechat", "app", "email"], dtype=object)
SEGMENTS = np.array(["新客", "老客", "会员"], dtype=object)
PLANTED_REGION = "华东"
PLANTED_STORES = ("广州3号店", "北京7号店", "成都5号店")
COMMENT_SHARE = 0.35
# NPS 0..10: detractors 25 %, passives 30 %, promoters 45 %; the planted stores 45 % detractors.
NPS_P = np.array([2, 1, 2, 3, 4, 5, 8, 12, 18, 22, 23]) / 100
NPS_P_PLANTED = np.array([5, 3, 4, 6, 8, 8, 11, 10, 15, 15, 15]) / 100
START = np.datetime64("2025-01-01T00:00:00", "us")
YEAR_US = 365 * 24 * 3600 * 10**6

# What customers complain about (topic -> phrases); each holds keywords of its aspect.
NEGATIVE = {
    "logistics": ("快递太慢了，等了一个星期才到", "物流信息一直不更新", "发货太慢，催了好几次",
                  "送货时间一改再改", "包装破了，东西都压坏了", "配送员把包裹随便放在门口",
                  "说好的次日达结果三天才到货", "快递员不肯送上楼", "物流太慢了", "发货速度太慢",
                  "到货比承诺的晚了两天", "收货的时候发现少了一件", "运费太贵了", "派送一直延误",
                  "快递放到驿站也不通知"),
    "attitude": ("客服态度很差", "服务员很不耐烦", "店员爱搭不理的", "客服回答很敷衍",
                 "导购态度冷漠", "服务态度不好，说话很冲", "工作人员没有礼貌", "客服人员一直推脱",
                 "收银员脾气很大", "服务员态度恶劣", "前台一点也不热情", "店员不够耐心"),
    "price": ("价格太贵了，不划算", "性价比太低", "比别的地方贵很多", "刚买完就降价了",
              "优惠活动都是套路", "价格涨得太快", "收费不透明，多收了钱", "会员价也不便宜",
              "折扣力度太小", "这个价位不值"),
    "product_quality": ("质量太差了，用了两天就坏了", "做工粗糙", "材质和描述的不一样",
                        "收到的是次品", "有明显的瑕疵", "东西不好用", "怀疑是假货",
                        "产品经常出故障", "效果很一般", "手感很差", "质量不如以前了"),
    "environment": ("门店环境太脏了", "店里太吵了", "卫生条件很差", "店面太小，很拥挤",
                    "停车很不方便", "空调坏了，店里很热", "座位太少", "装修很旧了", "店里噪音很大"),
    "response_speed": ("客服回复太慢", "电话一直打不通，排队半天", "等了很久都没人回复",
                       "在线客服半天没人理", "响应太慢了", "留言三天都没有回复", "效率太低了"),
    "resolution": ("退款到现在还没到账", "问题一直没解决", "售后推来推去", "投诉了也没人处理",
                   "换货拖了很久", "维修了两次还是坏的", "说好的赔偿一直没给", "退货太难了"),
    "process_clarity": ("流程太复杂了", "手续很繁琐", "操作说明看不懂", "规则说不清楚",
                        "要填写的表格太多", "步骤太多了，很麻烦"),
    "personalisation": ("推荐的东西都不是我需要的", "会员生日没有任何表示", "没有针对老客户的服务"),
}  # fmt: skip
POSITIVE = {
    "logistics": ("快递很快，第二天就到了", "物流很给力", "包装很仔细", "送货师傅很准时",
                  "发货速度很快"),
    "attitude": ("客服态度很好", "服务员很热情", "店员很耐心", "工作人员很有礼貌", "服务员很友好"),
    "price": ("价格实惠", "性价比很高", "优惠力度很大", "很划算"),
    "product_quality": ("质量很好", "做工精细", "东西很好用", "正品，放心"),
    "environment": ("门店环境很干净", "店里很整洁", "环境很舒服"),
    "response_speed": ("客服回复很及时", "秒回，效率很高"),
    "resolution": ("问题很快就解决了", "退款很快到账了", "售后处理得很好"),
    "personalisation": ("推荐的很适合我", "会员服务很贴心", "生日还收到了专属优惠"),
    "praise": ("非常满意", "很满意，下次还来", "整体体验很好", "会推荐给朋友", "一如既往的好",
               "很棒，点赞"),
}  # fmt: skip
NEUTRAL = ("还可以吧", "一般般", "还行，没什么特别的", "中规中矩", "希望继续改进", "总体还行",
           "下次再看看", "没什么意见")  # fmt: skip
NEGATIVE_ENDINGS = ("", "", "，不满意", "，很失望", "，下次不会再来了", "！", "，希望改进")
POSITIVE_ENDINGS = ("", "", "，非常满意", "！", "，点赞")
NEGATIVE_TOPICS = list(NEGATIVE)
TOPIC_P = np.array([10, 18, 15, 18, 10, 10, 10, 6, 3], dtype=float)
TOPIC_P_PLANTED = TOPIC_P.copy()
TOPIC_P_PLANTED[0] = 110  # logistics: ~55 % of the first complaints instead of 10 %


def main() -> int:
    args = _arguments()
    with benchdb.django_for_bench(args.database_url, BENCH_DB) as (data_dir, _):
        try:
            return _run(args)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)  # the SQLite file is ~400 MB at 1M


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is reported")
    parser.add_argument("--seed", type=int, default=20250601)
    return parser.parse_args()


# --- data -------------------------------------------------------------------------------------


def generate(rows: int, seed: int) -> dict[str, np.ndarray]:
    """The responses as columns; ``comment`` is "" for the rows without one."""
    rng = np.random.default_rng(seed)
    store = rng.integers(0, len(STORES), rows)
    region = REGIONS[store // 40]
    planted_store = np.isin(STORES[store], PLANTED_STORES)
    nps = rng.choice(11, size=rows, p=NPS_P)
    nps[planted_store] = rng.choice(11, size=int(planted_store.sum()), p=NPS_P_PLANTED)
    planted = planted_store | (region == PLANTED_REGION)
    has_comment = rng.random(rows) < COMMENT_SHARE
    comment = np.full(rows, "", dtype=object)
    where = np.flatnonzero(has_comment)
    comment[where] = _comments(rng, nps[where], planted[where])
    return {
        "submitted_at": START + rng.integers(0, YEAR_US, rows).astype("timedelta64[us]"),
        "region": region,
        "store": STORES[store],
        "channel": CHANNELS[rng.integers(0, len(CHANNELS), rows)],
        "segment": SEGMENTS[rng.integers(0, len(SEGMENTS), rows)],
        "nps": nps,
        "comment": comment,
        "excluded": rng.random(rows) < 0.02,  # flagged answers both sides leave out
    }


def _comments(rng: np.random.Generator, nps: np.ndarray, planted: np.ndarray) -> list[str]:
    """One comment per row, from its NPS band (and the planted topic weights)."""
    n = len(nps)
    first = np.where(
        planted,
        rng.choice(len(TOPIC_P), n, p=TOPIC_P_PLANTED / TOPIC_P_PLANTED.sum()),
        rng.choice(len(TOPIC_P), n, p=TOPIC_P / TOPIC_P.sum()),
    )
    second = rng.choice(len(TOPIC_P), n, p=TOPIC_P / TOPIC_P.sum())
    u = rng.random((n, 6))  # phrase picks and coin flips, as fractions of each pool
    comments = []
    for i in range(n):
        if nps[i] <= 6:
            comments.append(_detractor(NEGATIVE_TOPICS[first[i]], NEGATIVE_TOPICS[second[i]], u[i]))
        elif nps[i] <= 8:
            comments.append(_passive(NEGATIVE_TOPICS[first[i]], u[i]))
        else:
            comments.append(_promoter(u[i]))
    return comments


def _pick(pool, fraction: float) -> str:
    return pool[int(fraction * len(pool))]


def _detractor(topic: str, other: str, u: np.ndarray) -> str:
    parts = [_pick(NEGATIVE[topic], u[0])]
    if u[2] < 0.4 and other != topic:
        parts.append(_pick(NEGATIVE[other], u[1]))
    if u[3] < 0.1:  # "the staff were nice, but …"
        parts.insert(0, _pick(POSITIVE["attitude"], u[4]) + "，但是")
        return "".join(parts[:2]) + _pick(NEGATIVE_ENDINGS, u[5])
    return "，".join(parts) + _pick(NEGATIVE_ENDINGS, u[5])


def _passive(topic: str, u: np.ndarray) -> str:
    neutral = _pick(NEUTRAL, u[0])
    if u[1] < 0.2:
        return _pick(NEGATIVE[topic], u[2]) + "，" + neutral
    if u[1] < 0.7:
        positive = POSITIVE[_pick(list(POSITIVE), u[3])]
        return _pick(positive, u[2]) + "，" + neutral
    return neutral


def _promoter(u: np.ndarray) -> str:
    topics = list(POSITIVE)
    parts = [_pick(POSITIVE[_pick(topics, u[0])], u[1])]
    if u[2] < 0.5:
        parts.append(_pick(POSITIVE[_pick(topics, u[3])], u[4]))
    return "，".join(dict.fromkeys(parts)) + _pick(POSITIVE_ENDINGS, u[5])


def analyse_comments(comments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sentiment (NaN without a comment) and aspects JSON of each row, as the text worker would
    store them, computed once per distinct comment."""
    from cxloop.insights.text import aspects, sentiment

    distinct, inverse = np.unique(comments.astype(str), return_inverse=True)
    texts = list(distinct)
    scores = np.array([round(s, 4) for s in sentiment(texts)])
    found = np.array([json.dumps(a) for a in aspects(texts)], dtype=object)
    empty = distinct == ""
    scores[empty], found[empty] = np.nan, "[]"
    return scores[inverse], found[inverse]


def _insert(data: dict[str, np.ndarray]) -> int:
    """Rows straight into the table (COPY on PostgreSQL); returns the survey id."""
    from django.db import connection, transaction

    from cxloop.surveys.models import Response

    survey_id, version_id = _survey()
    columns = ["survey_id", "version_id", "answers", "current_page", "language", "channel",
               "respondent_key", "started_at", "submitted_at", "region", "store", "age_band",
               "segment", "nps", "dimension_scores", "flags", "excluded", "comment_sentiment",
               "comment_aspects", "text_analysed_at"]  # fmt: skip
    times = [f"{t}+00:00".replace("T", " ") for t in data["submitted_at"].astype(str)]
    answers = {c: json.dumps({"comment": c}, ensure_ascii=False)[1:] for c in set(data["comment"])}
    rows = (
        (survey_id, version_id, f'{{"nps": {n}, {answers[c]}' if c else f'{{"nps": {n}}}', 1,
         "zh-hans", ch, "", t, t, r, st, "", sg, int(n), "{}", "[]", bool(e),
         None if s != s else float(s), a, t)
        for t, r, st, ch, sg, n, c, e, s, a in zip(
            times, data["region"], data["store"], data["channel"], data["segment"], data["nps"],
            data["comment"], data["excluded"], data["sentiment"], data["aspects"], strict=True)
    )  # fmt: skip
    table = Response._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return survey_id


def _survey() -> tuple[int, int]:
    from cxloop.surveys.models import Survey, SurveyVersion

    questions = [
        {"key": "nps", "type": "nps", "text": "推荐可能性", "role": "nps"},
        {"key": "comment", "type": "text", "text": "还有什么想说的？"},
    ]
    definition = {"format": "cxloop.survey/1", "title": "bench", "language": "zh-hans",
                  "pages": [{"key": "p1", "questions": questions}]}  # fmt: skip
    survey = Survey.objects.create(key="bench", title="bench", status="active", draft=definition)
    version = SurveyVersion.objects.create(survey=survey, number=1, definition=definition)
    survey.current_version = version
    survey.save(update_fields=["current_version"])
    return survey.pk, version.pk


# --- DuckDB baseline --------------------------------------------------------------------------


def duckdb_tables(data: dict[str, np.ndarray]):
    import duckdb

    con = duckdb.connect()
    columns = {name: data[name] for name in ("region", "store", "nps", "excluded", "aspects")}
    columns["has_text"] = ~np.isnan(data["sentiment"])
    con.register("data", columns)
    con.execute("CREATE TABLE texts AS SELECT * FROM data WHERE has_text AND NOT excluded")
    con.unregister("data")
    return con


def duckdb_counts(con, by: str, keys: list[str]) -> tuple[dict, dict]:
    """The same aspect counts as ``_aspect_tallies``: the whole set and per ``by`` value."""
    low = [f"count(*) FILTER (nps <= 6 AND contains(aspects, '\"{key}\"'))" for key in keys]
    every = [f"count(*) FILTER (contains(aspects, '\"{key}\"'))" for key in keys]
    head = "count(*), count(*) FILTER (nps <= 6)"
    whole = con.execute(f"SELECT {head}, {', '.join(low + every)} FROM texts").fetchone()
    grouped = con.execute(f"SELECT {by}, {head}, {', '.join(low)} FROM texts GROUP BY {by}")
    return {"": whole}, {row[0]: row[1:] for row in grouped.fetchall()}


def _as_rows(base, places, keys: list[str]) -> tuple[dict, dict]:
    """Our tallies in the shape of :func:`duckdb_counts`, to compare."""

    def row(tally, hits: bool):
        counts = [tally.low_hits.get(key, 0) for key in keys]
        counts += [tally.hits.get(key, 0) for key in keys] if hits else []
        return (tally.texts, tally.low_texts, *counts)

    return {"": row(base, True)}, {place: row(t, False) for place, t in places.items()}


# --- timing -----------------------------------------------------------------------------------

PARTS = {  # (module, function): label
    ("surveys", "_aspect_tallies"): "aspects SQL",
    ("surveys", "_low_samples"): "newest low-score texts SQL (2 queries)",
    ("surveys", "_word_rows"): "words (base sample SQL + jieba)",
    ("surveys", "_place_words"): "  place names (from the samples)",
    ("insights", "word_tally"): "  jieba + counting",
    ("surveys", "_add_aspect_examples"): "aspect examples (from the samples)",
}


@contextlib.contextmanager
def timed_parts():
    """Wrap the report's steps for the duration; yields the seconds spent in each."""
    from cxloop.insights import clusters as insights_clusters
    from cxloop.surveys import clusters as surveys_clusters

    modules = {"surveys": surveys_clusters, "insights": insights_clusters}
    spent: dict[str, float] = defaultdict(float)
    originals = {}
    for (module, name), label in PARTS.items():
        original = originals[(module, name)] = getattr(modules[module], name)

        def wrapper(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - started

        setattr(modules[module], name, wrapper)
    try:
        yield spent
    finally:
        for (module, name), original in originals.items():
            setattr(modules[module], name, original)


def best(function, repeat: int, *, words_cached: bool = True, report_cached: bool = True):
    """Fastest of ``repeat`` runs: (seconds, result, seconds per part of that run).

    Not ``words_cached``: the words cache is emptied before each run; not ``report_cached``:
    the report cache (``surveys.clusters.cached_report``, the Django cache) is emptied."""
    from django.core.cache import cache

    from cxloop.insights import clusters as insights_clusters

    runs = []
    for _ in range(repeat):
        if not words_cached:
            insights_clusters._words.cache_clear()
        if not report_cached:
            cache.clear()
        with timed_parts() as spent:
            started = time.perf_counter()
            result = function()
            took = time.perf_counter() - started
        runs.append((took, result, dict(spent)))
    return min(runs, key=lambda run: run[0])


def _check_planted(report, by: str) -> None:
    """The planted cluster must come out, or the bench measured nothing."""
    places = {block.place: block for block in report.places}
    expected = [PLANTED_REGION] if by == "region" else list(PLANTED_STORES)
    for place in expected:
        assert place in places, f"{place} is not among the places shown"
        rows = {(row.kind, row.term): row for row in places[place].rows}
        assert ("aspect", "logistics") in rows, f"{place}: logistics not found ({rows})"
        assert rows[("aspect", "logistics")].lift >= 2, f"{place}: logistics lift too low"
        if by == "region":
            words = [term for kind, term in rows if kind == "word"]
            assert set(words) & _logistics_words(), f"{place}: no logistics word among {words}"


def _logistics_words() -> set[str]:
    from cxloop.insights.clusters import words

    return {word for phrase in NEGATIVE["logistics"] for word in words(phrase)}


def _print_parts(total: float, spent: dict[str, float]) -> None:
    shown = ", ".join(f"{label.strip()} {spent.get(label, 0):.3f}" for label in PARTS.values())
    top = sum(spent.get(label, 0) for label in PARTS.values() if not label.startswith(" "))
    print(f"        cold parts (s): {shown}, rest (cache key, statistics) {total - top:.3f}")


def _time_report(survey, by: str, con, repeat: int) -> bool:
    from cxloop.surveys import analysis, clusters
    from cxloop.surveys.text import aspect_labels

    def report():
        return clusters.survey_clusters(survey=survey, filters=analysis.Filters(), by=by, low="nps")

    cold_s, result, spent = best(report, repeat, words_cached=False, report_cached=False)
    _check_planted(result, by)
    warm_s, _, _ = best(report, repeat, report_cached=False)
    cached_s, _, _ = best(report, repeat)
    keys = list(aspect_labels())
    text_set = clusters.survey_text_set(
        survey=survey, filters=analysis.Filters(), low="nps", show_pii=False, show_text=True
    )
    sql_s, (base, places), _ = best(lambda: clusters._aspect_tallies(text_set, by, keys), repeat)
    duck_s, duck, _ = best(lambda: duckdb_counts(con, by, keys), repeat)
    assert _as_rows(base, places, keys) == duck, "cxloop and DuckDB disagree on the counts"
    found = sum(len(block.rows) for block in result.places) + len(result.overall)
    print(f"by {by} ({len(places)} places, {len(result.places)} shown, {found} findings, "
          f"words sampled: {result.words_sampled}):")  # fmt: skip
    print(f"    report: cold {cold_s:6.3f} s   words cached {warm_s:6.3f} s   "
          f"report cached {cached_s:6.3f} s")  # fmt: skip
    _print_parts(cold_s, spent)
    print(f"    aspect counts alone: cxloop SQL {sql_s:6.3f} s   DuckDB (in memory) "
          f"{duck_s:6.3f} s   ratio {sql_s / duck_s:5.1f}x")  # fmt: skip
    return cold_s <= GOAL_S


def _run(args) -> int:
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from cxloop.surveys import analysis, clusters
    from cxloop.surveys.models import Survey

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    data = generate(args.rows, args.seed)
    data["sentiment"], data["aspects"] = analyse_comments(data["comment"])
    distinct = len(set(data["comment"])) - 1
    print(f"generated and analysed {args.rows:,} responses ({int((data['comment'] != '').sum()):,} "
          f"comments, {distinct:,} distinct) in {time.perf_counter() - started:.1f} s")  # fmt: skip
    started = time.perf_counter()
    survey = Survey.objects.get(pk=_insert(data))
    print(f"database: {connection.vendor}, {args.rows:,} responses inserted in "
          f"{time.perf_counter() - started:.1f} s; best of {args.repeat}")  # fmt: skip
    con = duckdb_tables(data)
    cache.clear()
    started = time.perf_counter()
    clusters.survey_clusters(survey=survey, filters=analysis.Filters(), by="region", low="nps")
    took = time.perf_counter() - started
    print(f"first report (by region; loads jieba's dictionary, cold cache): {took:.3f} s")
    ok = all([_time_report(survey, by, con, args.repeat) for by in ("region", "store")])
    print(f"goal (whole report ≤ {GOAL_S:.0f} s, cold words cache) " + ("met" if ok else "NOT met"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
