"""Reading a spreadsheet file into a header and rows of text cells.

Agencies export catalogs from ERPs, PIMs and Excel: CSV in UTF-8 (with or without a
byte-order mark), GBK from older Windows tools, UTF-16 tab-separated text from Excel's
"Unicode text" and Taobao's bulk tools, and XLSX workbooks. The kind of file is told by
its content, never by its extension, because exports are renamed freely. Every cell
comes back as the text a spreadsheet shows; what a cell means is the importer's job.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.exceptions import InvalidFileException

from engine.core.errors import InputError, Issue

# The import holds every row, every parsed value and every issue in memory at once so it
# can report all problems together; 200,000 rows is several times the largest catalog a
# brand keeps, and a file beyond it is almost always the wrong export (an order or stock
# log), which is better refused at once than after minutes of parsing.
MAX_ROWS = 200_000
DELIMITERS = ",\t;"
# Lines csv.Sniffer looks at: enough to see the delimiter repeat, little enough to be fast.
SNIFF_LINES = 20
SNIFF_CHARS = 64 * 1024
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and encrypted workbooks
# Byte-order mark, the codec for what follows it, and the encoding's name.
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be", "utf-16-be"),
)
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Za-z]+[0-9]+(?::[A-Za-z]+[0-9]+)?)"')


@dataclass(frozen=True)
class Table:
    """A sheet as text: the header cells (the first row that is not blank, row 1 as a
    rule) and the data rows, each with its row number as a spreadsheet shows it. Fully
    empty rows are left out; every row is as long as the header."""

    header: list[str]
    rows: list[tuple[int, list[str]]]
    # How the file was read: a text encoding ("utf-8", "gb18030", ...) or "xlsx".
    encoding: str = ""
    sheet: str | None = None


def read_table(path: Path, sheet: str | None = None) -> Table:
    """Read a CSV / tab-separated text file or an XLSX workbook (the `sheet` named, by
    default the first). Raises InputError naming the file for anything unreadable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _error(path, f"cannot read the file: {exc.strerror or exc}") from None
    if data.startswith(_ZIP):
        return _read_xlsx(path, data, sheet)
    if data.startswith(_OLE2):
        raise _error(
            path,
            "this is a legacy .xls workbook or an encrypted one; save it as .xlsx "
            "(without a password) or as CSV UTF-8",
        )
    if sheet is not None:
        raise _error(path, f"sheet {sheet!r} was asked for, but the file is text, not XLSX")
    text, encoding = _decode(path, data)
    return _read_text(path, text, encoding)


def _error(path: Path, message: str, where: str = "") -> InputError:
    return InputError([Issue(where, message)], path.name)


# --- text files -------------------------------------------------------------------------


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """The file's text and the name of its encoding: a byte-order mark decides first, then
    strict UTF-8, then GB18030 (which reads GBK and GB2312) if the result is Chinese text."""
    for bom, codec, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), encoding
            except UnicodeDecodeError as exc:
                offset = exc.start + len(bom)
                raise _error(
                    path,
                    f"the byte-order mark says {encoding}, but byte {offset} is not valid "
                    f"{encoding} (tried {encoding} only, as the mark demands)",
                    _where(data, offset),
                ) from None
    if b"\x00" in data:
        # Strict UTF-8 would accept NUL bytes and hand back a header full of them.
        offset = data.index(b"\x00")
        raise _error(
            path,
            f"NUL byte at byte {offset}: UTF-16 text without a byte-order mark, or not a "
            "text file; save it as CSV UTF-8 (tried UTF-8 BOM, UTF-16 BOM, UTF-8, GB18030)",
            _where(data, offset),
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_offset = exc.start
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        gb_reason = f"byte {exc.start} (line {line}) is not valid GB18030"
    else:
        odd = _unlikely_chinese(text)
        if odd is None:
            return text, "gb18030"
        gb_reason = f"it decodes as GB18030 but not into Chinese text ({odd})"
    raise _error(
        path,
        f"cannot tell the encoding: byte {utf8_offset} (0x{data[utf8_offset]:02x}) is not "
        f"valid UTF-8, and {gb_reason}; tried UTF-8 BOM, UTF-16 BOM, UTF-8, GB18030 (GBK). "
        "Save the file as CSV UTF-8",
        _where(data, utf8_offset),
    )


def _where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}, byte {offset}"


def _unlikely_chinese(text: str) -> str | None:
    """Why GB18030-decoded text is not what a GBK export holds, or None if it looks right.

    GB18030 maps almost any byte pair to some character, so a Latin-1 or Shift-JIS file
    decodes "successfully" into rare characters. A real GBK export holds only characters
    of GBK (its two-byte part), no private-use or control characters, and mostly common
    characters of GB2312; the last test keeps traditional-character text (outside GB2312
    but inside GBK) acceptable while refusing the scattered rare characters of mojibake.
    """
    wide = common = 0
    for ch in text:
        if ch < "\x80":
            continue
        wide += 1
        category = unicodedata.category(ch)
        if category in ("Co", "Cc", "Cs", "Cn"):
            return f"{category} character U+{ord(ch):04X}"
        try:
            ch.encode("gbk")
        except UnicodeEncodeError:
            return f"U+{ord(ch):04X} is outside GBK"
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    if wide and common * 2 < wide:
        return f"only {common} of {wide} characters are common Chinese characters"
    return None


def _delimiter(text: str) -> str:
    """Comma, tab or semicolon: csv.Sniffer over the first lines, checked against the header."""
    lines = [line for line in text[:SNIFF_CHARS].splitlines() if line.strip()][:SNIFF_LINES]
    counts = {d: _split_count(lines[0] if lines else "", d) for d in DELIMITERS}
    try:
        guess = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = ""
    # The sniffer sometimes settles on a delimiter that only the data cells hold (a ';'
    # inside "k=v;k=v" cells); the header, which names every column, has the final say.
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: the earlier, comma first
    if guess in counts and counts[guess] >= counts[best]:
        return guess
    return best if counts[best] > 1 else ","


def _split_count(line: str, delimiter: str) -> int:
    return len(next(csv.reader([line], delimiter=delimiter), []))


def _read_text(path: Path, text: str, encoding: str) -> Table:
    delimiter = _delimiter(text)
    # newline="" keeps line breaks inside quoted cells as the file has them.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # One record is one spreadsheet row, however many lines its quoted cells span.
        return _table(path, enumerate(reader, start=1), encoding, None)
    except csv.Error as exc:
        raise _error(path, f"not readable as CSV: {exc}", f"line {reader.line_num}") from None


# --- XLSX -------------------------------------------------------------------------------

_READ_ERRORS = (
    zipfile.BadZipFile,
    InvalidFileException,
    ParseError,
    KeyError,
    ValueError,
    TypeError,
    OSError,
)


def _read_xlsx(path: Path, data: bytes, sheet: str | None) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise _error(path, "a damaged zip archive, not a readable XLSX workbook") from None
    if "xl/workbook.xml" not in names:
        raise _error(path, "a zip archive but not an XLSX workbook (no xl/workbook.xml)")
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; none matter here.
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _READ_ERRORS as exc:
        raise _error(path, f"not a readable XLSX workbook: {exc}") from None
    try:
        sheets = list(book.worksheets)  # worksheets only: chart sheets hold no cells
        if not sheets:
            raise _error(path, "the workbook has no worksheet")
        if sheet is None:
            ws = sheets[0]
        else:
            found = [ws for ws in sheets if ws.title == sheet]
            if not found:
                listed = ", ".join(repr(ws.title) for ws in sheets)
                raise _error(path, f"no sheet {sheet!r}; the workbook's sheets: {listed}")
            ws = found[0]
        merged = _merged_ranges(path, book, ws)
        header_merges = [r for r in merged if range_boundaries(r)[1] == 1]
        if header_merges:
            raise InputError(
                [
                    Issue(
                        f"sheet {ws.title!r}, cells {r}",
                        "merged header cells; unmerge them so each column has its own header",
                    )
                    for r in header_merges
                ],
                path.name,
            )
        # The dimension a workbook declares is often wrong (some tools write "A1"), and
        # openpyxl would cut every row to it: read what the sheet really holds.
        ws.reset_dimensions()
        rows = enumerate(ws.iter_rows(values_only=True), start=1)
        cells = ((n, [_cell_text(v) for v in row]) for n, row in rows)
        return _table(path, _fill_merged(cells, merged), "xlsx", ws.title)
    except _READ_ERRORS as exc:
        raise _error(path, f"not a readable XLSX workbook: {exc}") from None
    finally:
        book.close()


def _merged_ranges(path: Path, book: Any, ws: Any) -> list[str]:
    """The sheet's merged ranges ("A1:C1"), read from the sheet's XML: read-only mode does
    not keep them, and loading the whole workbook in normal mode for them is slow."""
    part = getattr(ws, "_worksheet_path", None)
    archive = getattr(book, "_archive", None)
    if part is None or archive is None:  # an openpyxl without these: the slow, sure way
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = load_workbook(path, data_only=True)
        return [str(r) for r in full[ws.title].merged_cells.ranges]
    with archive.open(part) as source:
        xml = source.read()
    return [m.decode("ascii").upper() for m in _MERGE.findall(xml)]


def _fill_merged(
    rows: Iterable[tuple[int, list[str]]], merged: list[str]
) -> Iterator[tuple[int, list[str]]]:
    """Give every cell of a merged data range the value of its top-left cell: a brand or
    a product's title merged down its SKU rows means that value on each of those rows."""
    # (min_row, max_row, min_col, max_col), swept down the rows: only the ranges that
    # cover the current row are looked at, however many the sheet has.
    pending = sorted(
        (min_row, max_row, min_col, max_col)
        for min_col, min_row, max_col, max_row in map(range_boundaries, merged)
    )
    active: list[tuple[tuple[int, int, int, int], str]] = []
    start = 0
    for n, cells in rows:
        while start < len(pending) and pending[start][0] <= n:
            span = pending[start]
            start += 1
            top_left = cells[span[2] - 1] if span[0] == n and len(cells) >= span[2] else ""
            active.append((span, top_left))
        active = [(span, value) for span, value in active if span[1] >= n]
        for (_, _, min_col, max_col), value in active:
            if len(cells) < max_col:
                cells.extend([""] * (max_col - len(cells)))
            cells[min_col - 1 : max_col] = [value] * (max_col - min_col + 1)
        yield n, cells


def _cell_text(value: Any) -> str:
    """A cell as text, as it was typed: 12 not 12.0, 19.9 not 19.899999999999999, dates
    in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        # repr is the shortest text that reads back as the same float: what was typed.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


# --- both -------------------------------------------------------------------------------


def _table(
    path: Path, records: Iterable[tuple[int, list[str]]], encoding: str, sheet: str | None
) -> Table:
    """Header and rows from numbered records: blank rows dropped, rows padded to the
    header, and every cell outside a named column reported."""
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for n, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip() for cell in cells]
            continue
        if len(rows) >= MAX_ROWS:
            raise _error(
                path,
                f"more than {MAX_ROWS:,} data rows: too many for one import (is this the "
                "right export?); split the file",
                f"row {n}",
            )
        rows.append((n, cells))
    if header is None:
        raise _error(path, "the file is empty: no header row")
    issues = _unnamed_columns(header, rows)
    if issues:
        raise InputError(issues, path.name)
    width = len(header)
    # Columns with neither a header nor data (trailing separators, formatted-but-empty
    # cells) are simply not there.
    while width and not header[width - 1]:
        width -= 1
    header = header[:width]
    for _, cells in rows:
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        elif len(cells) > width:
            del cells[width:]
    return Table(header, rows, encoding, sheet)


def _unnamed_columns(header: list[str], rows: list[tuple[int, list[str]]]) -> list[Issue]:
    """Data under no header: a blank header cell, or cells beyond the last header."""
    width = len(header)
    blank = [col for col, name in enumerate(header) if not name]
    first_data: dict[int, int] = {}
    for n, cells in rows:
        outside = [col for col in blank if col < len(cells)]
        outside.extend(range(width, len(cells)))
        for col in outside:
            if col not in first_data and cells[col].strip():
                first_data[col] = n
    return [
        Issue(
            f"column {get_column_letter(col + 1)}",
            f"no header, but row {n} holds data under it; give the column a header "
            "(or delete its data)",
        )
        for col, n in sorted(first_data.items())
    ]
