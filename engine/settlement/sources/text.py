"""What every settlement reader shares: decoding the bytes, cutting the table out of the
file, and turning its text cells into fen, times and ids - with every bad cell named.

Cells are parsed by polars expressions over whole columns; only the rows that fail are
visited one by one, to name them in the error (at most LIMIT of them).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Mapping
from typing import NamedTuple

import polars as pl

from engine.core.errors import InputError, Issue

__all__ = [
    "LIMIT",
    "Doc",
    "Header",
    "Problems",
    "decode",
    "enum",
    "footer",
    "ident",
    "money",
    "table",
    "timestamp",
    "whole",
]

LIMIT = 50  # bad cells listed per file: enough to fix a batch, short enough to read

# Plain yuan with at most two decimals: "1,234.50", "¥12" and "12.345" are refused rather
# than guessed at. Fifteen digits keep fen inside Int64.
_MONEY = r"^[-+]?\d{1,15}(\.\d{1,2})?$"
_TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
_WHOLE = r"^\d{1,12}$"


def decode(data: bytes, source: str) -> str:
    """The file's text: UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding).replace("\r\n", "\n")
        except UnicodeDecodeError:
            continue
    raise InputError(
        [Issue(source, "not text in UTF-8 or GBK/GB18030: the file cannot be decoded")], source
    )


class Doc:
    """A decoded file, looked at only as far as needed: the table is cut out of the text
    by offsets (a bill of a million rows is never split into a million Python strings)."""

    def __init__(self, text: str) -> None:
        self.text = text.rstrip()  # trailing blank lines are no rows

    def header(self) -> Header | None:
        """The first line that is neither blank nor a '#' line: the table's header."""
        text, offset, index = self.text, 0, 0
        while offset <= len(text):
            stop = text.find("\n", offset)
            stop = len(text) if stop < 0 else stop
            line = text[offset:stop]
            if line.strip() and not line.startswith("#"):
                return Header(index, offset, line)
            offset, index = stop + 1, index + 1
        return None

    def last_line_with(self, marker: str, head: Header, *, starting: bool = False) -> int | None:
        """The offset of the last line after the header holding `marker` (or starting
        with it, past a BOM or backtick, when `starting`); None when none does."""
        text, stop = self.text, len(self.text)
        body_start = head.offset + len(head.line)
        while True:
            at = text.rfind(marker, body_start, stop)
            if at < 0:
                return None
            line_start = text.rfind("\n", 0, at) + 1
            if not starting or not text[line_start:at].strip('\ufeff` \t"'):
                return line_start
            stop = at


class Header(NamedTuple):
    line_index: int  # 0-based index of the header row among the lines
    offset: int  # where it starts in the text
    line: str

    def names(self) -> list[str]:
        return [_clean_name(cell.strip().strip('"')) for cell in self.line.split(",")]


def table(
    doc: Doc,
    head: Header,
    end: int | None,
    source: str,
    columns: list[str],
    *,
    backtick: bool = False,
) -> pl.DataFrame:
    """The text from the header up to offset `end` (the footer; None: the end of the
    file) read as CSV: the `columns` only, each a stripped String with blanks as null,
    plus `line`: each row's 1-based line in the file. A column the header lacks is an
    InputError naming the file.

    `backtick` drops the "`" WeChat puts before every value to keep it text.
    """
    names = head.names()
    missing = [name for name in columns if name not in names]
    if missing:
        raise InputError([Issue(source, "missing column(s): " + ", ".join(missing))], source)
    wanted = sorted({names.index(name) for name in columns})
    body = doc.text[head.offset : len(doc.text) if end is None else end].encode("utf-8")
    try:
        frame = pl.read_csv(io.BytesIO(body), infer_schema=False, has_header=True, columns=wanted)
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            [Issue(f"{source}:{head.line_index + 1}", f"not a readable CSV table: {exc}")], source
        ) from None
    frame.columns = [names[i] for i in wanted]
    cleaned = []
    for name in frame.columns:  # per column, not per row
        cell = pl.col(name).str.strip_chars()
        if backtick:
            cell = cell.str.strip_prefix("`").str.strip_chars()
        # ="3300..." : how exports keep a long id from becoming a number in Excel
        excel_text = (
            cell.str.starts_with('="') & cell.str.ends_with('"') & (cell.str.len_chars() >= 3)
        )
        cell = pl.when(excel_text).then(cell.str.slice(2).str.strip_suffix('"')).otherwise(cell)
        cleaned.append(pl.when(cell.str.len_bytes() > 0).then(cell).alias(name))
    # data rows start on the line after the header (index is 0-based, lines 1-based)
    return (
        frame.with_columns(cleaned)
        .with_row_index("line", offset=head.line_index + 2)
        .with_columns(pl.col("line").cast(pl.Int64))
    )


def _clean_name(name: str) -> str:
    return name.strip().strip("`").strip().lstrip("\ufeff")


def ident(column: str) -> pl.Expr:
    """An id as written, without the trailing tab (already stripped by `table`)."""
    return pl.col(column)


def money(column: str) -> pl.Expr:
    """Yuan text -> Int64 fen, exactly (digit arithmetic, no float); null when blank or
    not a plain amount."""
    cell = pl.col(column)
    yuan = cell.str.extract(r"^[-+]?(\d+)", 1).cast(pl.Int64, strict=False)
    cents = cell.str.extract(r"\.(\d+)$", 1).str.pad_end(2, "0").fill_null("0").cast(pl.Int64)
    fen = yuan * 100 + cents
    signed = pl.when(cell.str.starts_with("-")).then(-fen).otherwise(fen)
    return pl.when(cell.str.contains(_MONEY)).then(signed).otherwise(None)


def timestamp(column: str) -> pl.Expr:
    """'YYYY-MM-DD HH:MM:SS' (China time, kept naive) -> Datetime("us"); null otherwise."""
    cell = pl.col(column)
    parsed = cell.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    return pl.when(cell.str.contains(_TIME)).then(parsed).otherwise(None)


def whole(column: str) -> pl.Expr:
    """A count written as plain digits -> Int64; null otherwise."""
    cell = pl.col(column)
    return pl.when(cell.str.contains(_WHOLE)).then(cell.cast(pl.Int64, strict=False))


def enum(column: str, mapping: Mapping[str, str]) -> pl.Expr:
    """The file's word -> our value; null for a word the mapping does not know."""
    return pl.col(column).replace_strict(dict(mapping), default=None, return_dtype=pl.String)


class Problems:
    """The bad cells of one file, gathered so one error names them all."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[Issue] = []

    def add(self, path: str, message: str) -> None:
        if len(self.issues) < LIMIT:
            self.issues.append(Issue(path, message))

    def cells(
        self,
        frame: pl.DataFrame,
        column: str,
        parsed: str,
        *,
        expected: str,
        required: bool = True,
        valid: pl.Expr | None = None,
    ) -> None:
        """Name every row whose `column` did not parse into `parsed` (or is blank when
        required, or fails `valid`)."""
        room = LIMIT - len(self.issues)
        if room <= 0:
            return
        bad = pl.col(column).is_not_null() & pl.col(parsed).is_null()
        if required:
            bad = bad | pl.col(column).is_null()
        if valid is not None:
            bad = bad | (pl.col(parsed).is_not_null() & ~valid)
        rows = frame.filter(bad).select("line", column).head(room)
        for line, value in rows.iter_rows():
            said = "blank" if value is None else repr(value)
            self.add(f"{self.source}:{line}:{column}", f"{said}: expected {expected}")

    def check(self) -> None:
        """Raise the gathered issues, if any, as one InputError."""
        if self.issues:
            raise InputError(sorted(self.issues, key=_line_order), self.source)


def _line_order(issue: Issue) -> tuple[int, str]:
    parts = issue.path.rsplit(":", 2)
    line = parts[1] if len(parts) == 3 and parts[1].isdigit() else "0"
    return int(line), issue.path


EXPECT_MONEY = "an amount in yuan like 12.50 (no separators, symbols or third decimal)"
EXPECT_TIME = "a time as YYYY-MM-DD HH:MM:SS"


def footer(doc: Doc, head: Header, marker: str, what: str, source: str) -> int:
    """The offset of the footer line holding `marker` (searched from the end: footers
    are short). Missing means the file was cut off, and its totals cannot be trusted."""
    found = doc.last_line_with(marker, head)
    if found is None:
        raise InputError(
            [Issue(source, f"truncated: the {what} line ({marker}) after the rows is missing")],
            source,
        )
    return found
