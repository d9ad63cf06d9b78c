"""The control totals of a matching: what went in must come out, record for record.

A settlement is only worth reading if no record fell through a join. For each source
(orders, payments, movements) the records and the money that went in are compared with
the outcome rows of that source: the same number of rows, the same references (a row's
`source:line`) as often, and the same amount in fen. Movements carry no money, so their
amount is 0 on both sides. `reconcile` lists every difference; `ensure_reconciled` is
what the CLI calls, and its error ends the command with exit code 5.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from engine.core.errors import OmnistockError

__all__ = [
    "SOURCES",
    "ControlError",
    "ensure_reconciled",
    "reconcile",
    "record_ref",
    "summary",
]

# The three inputs of a matching, in the order outcomes list them.
SOURCES: tuple[str, ...] = ("orders", "payments", "movements")

# The sources whose rows carry money (`amount`, fen); a movement has none.
_WITH_MONEY = frozenset({"orders", "payments"})


class ControlError(OmnistockError):
    """The outcomes do not account for the inputs: the matching lost or made up records."""

    exit_code = 5

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"settlement control failed: {len(problems)} problem(s)\n{lines}")


def record_ref() -> pl.Expr:
    """A row's reference, `file:line`: how an outcome names the record it is about."""
    return pl.concat_str(
        [pl.col("source").fill_null("?"), pl.col("line").cast(pl.String).fill_null("?")],
        separator=":",
    )


def _money_in(source: str, frame: pl.DataFrame) -> int:
    if source not in _WITH_MONEY or frame.height == 0:
        return 0
    return int(frame.get_column("amount").fill_null(0).sum())


def reconcile(inputs: Mapping[str, pl.DataFrame], outcomes: pl.DataFrame) -> list[str]:
    """Every difference between the inputs and the outcomes, per source; empty when none."""
    problems: list[str] = []
    unknown = set(outcomes.get_column("source").unique().drop_nulls().to_list()) - set(SOURCES)
    for name in sorted(unknown):
        problems.append(f"outcomes name a source that was no input: {name!r}")
    nulls = outcomes.get_column("source").null_count()
    if nulls:
        problems.append(f"{nulls} outcome row(s) name no source")
    for source in SOURCES:
        frame = inputs.get(source)
        if frame is None:
            problems.append(f"{source}: no input frame given to check against")
            continue
        out = outcomes.filter(pl.col("source") == source)
        if frame.height != out.height:
            problems.append(f"{source}: {frame.height} record(s) in, {out.height} outcome row(s)")
        money_in = _money_in(source, frame)
        money_out = int(out.get_column("amount").fill_null(0).sum()) if out.height else 0
        if money_in != money_out:
            problems.append(f"{source}: {money_in} fen in, {money_out} fen over the outcomes")
        # Same count is not enough: one record twice and another missing would pass it.
        want = frame.select(record_ref().alias("record")).group_by("record").len("want")
        got = out.select("record").group_by("record").len("got")
        diff = want.join(got, on="record", how="full", coalesce=True).filter(
            pl.col("want").fill_null(0) != pl.col("got").fill_null(0)
        )
        for row in diff.sort("record").head(5).iter_rows(named=True):
            problems.append(
                f"{source}: record {row['record']} is in the input {row['want'] or 0} time(s)"
                f" and in the outcomes {row['got'] or 0} time(s)"
            )
        if diff.height > 5:
            problems.append(f"{source}: ... and {diff.height - 5} more record(s) differ")
    return problems


def ensure_reconciled(inputs: Mapping[str, pl.DataFrame], outcomes: pl.DataFrame) -> None:
    """Raise ControlError (exit code 5) when the outcomes do not account for the inputs."""
    problems = reconcile(inputs, outcomes)
    if problems:
        raise ControlError(problems)


def summary(inputs: Mapping[str, pl.DataFrame], outcomes: pl.DataFrame) -> pl.DataFrame:
    """The control table: per source, an `in` line (records, fen) then one line per outcome."""
    rows: list[dict[str, object]] = []
    for source in SOURCES:
        frame = inputs[source]
        rows.append(
            {
                "source": source,
                "line": "in",
                "records": frame.height,
                "amount": _money_in(source, frame),
            }
        )
    head = pl.DataFrame(
        rows,
        schema={"source": pl.String, "line": pl.String, "records": pl.Int64, "amount": pl.Int64},
    )
    per_outcome = (
        outcomes.group_by("source", "outcome")
        .agg(pl.len().cast(pl.Int64).alias("records"), pl.col("amount").fill_null(0).sum())
        .rename({"outcome": "line"})
        .select(head.columns)
        .cast({"amount": pl.Int64})
    )
    rank = {source: i for i, source in enumerate(SOURCES)}
    return (
        pl.concat([head, per_outcome])
        .with_columns(
            pl.col("source").replace_strict(rank, default=len(SOURCES)).alias("_s"),
            (pl.col("line") != "in").alias("_o"),
        )
        .sort("_s", "_o", "line")
        .drop("_s", "_o")
    )
