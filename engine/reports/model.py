"""What a built report is, independent of how it is drawn: sections of headline figures,
tables and charts, every label in English and Chinese, every figure with its definition.

The figures (engine/reports/figures.py) fill this model from the data as of the window's
end; the renderers (XLSX, HTML, PDF) only draw it, so the three formats cannot disagree
and a report can be stored as JSON and drawn again later without touching the data.

Money is whole fen (int), shares are fractions (float, 0.25 = 25%), days are dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

__all__ = [
    "LANGS",
    "Chart",
    "Column",
    "Figure",
    "Report",
    "Section",
    "Table",
    "Text",
    "Value",
]

LANGS = ("en", "zh")
Lang = Literal["en", "zh"]
# How a value is shown: text as is, units as whole numbers, money in yuan from fen,
# a share as a percentage, a date as YYYY-MM-DD.
# `term`: a fixed key (a status, an outcome) shown in words (engine/reports/terms.py).
Kind = Literal["text", "term", "units", "money", "share", "date"]
Value = str | int | float | date | None


@dataclass(frozen=True)
class Text:
    """A label or sentence in both languages of the product."""

    en: str
    zh: str

    def __call__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def to_json(self) -> dict[str, str]:
        return {"en": self.en, "zh": self.zh}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Text:
        return cls(en=data["en"], zh=data["zh"])


@dataclass(frozen=True)
class Column:
    key: str
    label: Text
    kind: Kind


@dataclass(frozen=True)
class Table:
    """Rows of values in the order of `columns`; `note` defines what the rows count."""

    key: str
    title: Text
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    note: Text | None = None

    def column(self, key: str) -> int:
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        raise KeyError(f"table {self.key!r} has no column {key!r}")


@dataclass(frozen=True)
class Chart:
    """A chart drawn from one of the section's tables: `category` is the column along
    the axis, `series` the columns drawn (one line or bar series each)."""

    key: str
    title: Text
    kind: Literal["line", "column", "bar"]
    table: str
    category: str
    series: tuple[str, ...]


@dataclass(frozen=True)
class Figure:
    """A headline number with its definition (the report's footnote for it)."""

    key: str
    label: Text
    kind: Kind
    value: Value
    definition: Text


@dataclass(frozen=True)
class Section:
    """One sheet of the workbook, one part of the HTML and PDF. `empty` says, in words,
    why the section has nothing to show (no sales in the window, no settlement run for
    the period...), instead of an empty table."""

    key: str
    title: Text
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    empty: Text | None = None

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(f"section {self.key!r} has no table {key!r}")

    def figure(self, key: str) -> Figure:
        for f in self.figures:
            if f.key == key:
                return f
        raise KeyError(f"section {self.key!r} has no figure {key!r}")


@dataclass(frozen=True)
class Report:
    """A brand's report for a window of days (`start` to `end`, both included).

    `as_of` is the moment the data was taken at (the window's end), `sources` names the
    data it was built from (snapshot hash, settlement run, plan ids...), so a report
    rebuilt later from the same sources has the same figures."""

    tenant: str
    brand: str
    kind: Literal["campaign", "monthly"]
    start: date
    end: date
    as_of: datetime
    sections: tuple[Section, ...]
    sources: dict[str, str] = field(default_factory=dict)
    title: Text | None = None

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"report has no section {key!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "brand": self.brand,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "sources": dict(sorted(self.sources.items())),
            "title": self.title.to_json() if self.title else None,
            "sections": [_section_json(s) for s in self.sections],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(
            tenant=data["tenant"],
            brand=data["brand"],
            kind=data["kind"],
            start=date.fromisoformat(data["start"]),
            end=date.fromisoformat(data["end"]),
            as_of=datetime.fromisoformat(data["as_of"]),
            sources=dict(data["sources"]),
            title=Text.from_json(data["title"]) if data.get("title") else None,
            sections=tuple(_section_from(s) for s in data["sections"]),
        )


def _value_json(value: Value) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _value_from(value: Any, kind: Kind) -> Value:
    return date.fromisoformat(value) if kind == "date" and value is not None else value


def _section_json(s: Section) -> dict[str, Any]:
    return {
        "key": s.key,
        "title": s.title.to_json(),
        "empty": s.empty.to_json() if s.empty else None,
        "figures": [
            {
                "key": f.key,
                "label": f.label.to_json(),
                "kind": f.kind,
                "value": _value_json(f.value),
                "definition": f.definition.to_json(),
            }
            for f in s.figures
        ],
        "tables": [
            {
                "key": t.key,
                "title": t.title.to_json(),
                "note": t.note.to_json() if t.note else None,
                "columns": [
                    {"key": c.key, "label": c.label.to_json(), "kind": c.kind} for c in t.columns
                ],
                "rows": [[_value_json(v) for v in row] for row in t.rows],
            }
            for t in s.tables
        ],
        "charts": [
            {
                "key": c.key,
                "title": c.title.to_json(),
                "kind": c.kind,
                "table": c.table,
                "category": c.category,
                "series": list(c.series),
            }
            for c in s.charts
        ],
    }


def _section_from(data: dict[str, Any]) -> Section:
    tables = []
    for t in data["tables"]:
        columns = tuple(
            Column(c["key"], Text.from_json(c["label"]), c["kind"]) for c in t["columns"]
        )
        rows = tuple(
            tuple(_value_from(v, c.kind) for v, c in zip(row, columns, strict=True))
            for row in t["rows"]
        )
        note = Text.from_json(t["note"]) if t.get("note") else None
        tables.append(Table(t["key"], Text.from_json(t["title"]), columns, rows, note))
    return Section(
        key=data["key"],
        title=Text.from_json(data["title"]),
        empty=Text.from_json(data["empty"]) if data.get("empty") else None,
        figures=tuple(
            Figure(
                f["key"],
                Text.from_json(f["label"]),
                f["kind"],
                _value_from(f["value"], f["kind"]),
                Text.from_json(f["definition"]),
            )
            for f in data["figures"]
        ),
        tables=tuple(tables),
        charts=tuple(
            Chart(
                c["key"],
                Text.from_json(c["title"]),
                c["kind"],
                c["table"],
                c["category"],
                tuple(c["series"]),
            )
            for c in data["charts"]
        ),
    )
