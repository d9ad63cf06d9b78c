"""Statuses and outcomes in a report's tables are keys, shown in the report's language:
every price-guard status and settlement outcome has its words, and the HTML table and
the XLSX cell show them (the keys stay what the report's JSON says)."""

from __future__ import annotations

from io import BytesIO

import openpyxl

from engine.catalog.prices.guard import STATUSES
from engine.reports.model import Column, Table, Text
from engine.reports.render.html import table_view
from engine.reports.render.values import shown
from engine.reports.terms import TERMS, term
from engine.settlement.records import Outcome


def test_every_status_and_outcome_has_its_words() -> None:
    keys = set(STATUSES) | {o.value for o in Outcome}
    assert keys <= set(TERMS)
    for key in keys:
        assert term(key, "zh") != key and term(key, "en")
    assert term("a_new_outcome", "zh") == "a_new_outcome"  # shown as it is, not dropped


def test_a_term_column_is_shown_in_the_report_language() -> None:
    table = Table(
        "held",
        Text("Held", "暂缓"),
        (Column("outcome", Text("Outcome", "结果"), "term"),),
        (("missing_payment",), ("duplicate",)),
    )
    zh = [[cell.text for cell in row] for row in table_view(table, "zh").rows]
    en = [[cell.text for cell in row] for row in table_view(table, "en").rows]
    assert zh == [["缺少付款"], ["重复记录"]]
    assert en == [["missing payment"], ["duplicate"]]
    assert shown("breach", "text", "zh") == "breach"  # only term columns are words


def test_an_xlsx_term_cell_holds_the_words() -> None:
    import xlsxwriter

    from engine.reports.render.xlsx import _write_value

    out = BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    fmt = book.add_format({"num_format": "@"})
    _write_value(sheet, 0, 0, "may_breach", "term", fmt, "zh")
    _write_value(sheet, 1, 0, "may_breach", "text", fmt, "zh")
    book.close()
    cells = openpyxl.load_workbook(BytesIO(out.getvalue())).active
    assert cells is not None
    assert [cells["A1"].value, cells["A2"].value] == ["可能破价", "may_breach"]
