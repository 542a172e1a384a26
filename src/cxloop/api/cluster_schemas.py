"""Schemas of the low-score cluster reports (surveys and cases share them)."""

from __future__ import annotations

from ninja import Field, Schema

from cxloop.surveys.clusters import ClusterReport, PlaceBlock


class ClusterRowOut(Schema):
    kind: str = Field(description="aspect or word.")
    term: str = Field(description="The aspect key or the word.")
    label: str
    lift: float = Field(description="share / base_rate: how many times the base rate.")
    share: float = Field(description="Share of the place's low-score texts naming the term.")
    base_rate: float = Field(description="Share of all texts of the set naming the term.")
    low_hits: int
    low_texts: int
    q_value: float = Field(description="Benjamini-Hochberg adjusted one-sided binomial p-value.")
    examples: list[str] = Field(description="Newest low-score texts naming it (PII masked).")


class ClusterPlaceOut(Schema):
    place: str
    label: str
    texts: int
    low_texts: int
    findings: list[ClusterRowOut]


class ClusterReportOut(Schema):
    by: str
    low: str = Field(description="The rule that made a text low-score.")
    texts: int = Field(description="Analysed texts in the set.")
    low_texts: int
    words_sampled: bool = Field(description="True when words were counted over samples.")
    overall: list[ClusterRowOut] = Field(description="Findings of the whole set.")
    places: list[ClusterPlaceOut] = Field(description="Places with most low-score texts first.")


def report_out(report: ClusterReport, *, low: str) -> dict:
    def place(block: PlaceBlock) -> dict:
        return {**vars(block), "findings": [vars(row) for row in block.rows]}

    return {
        "by": report.by,
        "low": low,
        "texts": report.texts,
        "low_texts": report.low_texts,
        "words_sampled": report.words_sampled,
        "overall": [vars(row) for row in report.overall],
        "places": [place(block) for block in report.places],
    }
