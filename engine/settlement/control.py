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
    "by_shop_and_day",
    "ControlError",
    "ensure_reconciled",
    "money_in",
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


def money_in(source: str, frame: pl.DataFrame) -> int:
    if source not in _WITH_MONEY or frame.height == 0:
        return 0
    return int(frame.get_column("amount").fill_null(0).sum())


def _keys(inputs: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Every input record's reference with its source, shop and day: an order's own shop
    and payment day (creation day when unpaid), a bill row's order's shop (the first
    order's for a combined row; "" when it names none) and day, a movement's own shop
    code and day. Worked out from the inputs alone, not from the matching's joins."""
    orders = inputs["orders"]
    shop_of = orders.select("order_id", "shop").unique("order_id", keep="first")
    parts = [
        orders.select(
            pl.lit("orders").alias("source"),
            record_ref().alias("record"),
            "shop",
            pl.coalesce("paid_at", "created_at").dt.date().alias("day"),
            pl.col("amount").fill_null(0).alias("amount_in"),
        )
    ]
    payments = inputs["payments"].with_columns(
        pl.coalesce(pl.col("order_id"), pl.col("order_ids").list.first()).alias("_order")
    )
    parts.append(
        payments.join(shop_of, left_on="_order", right_on="order_id", how="left").select(
            pl.lit("payments").alias("source"),
            record_ref().alias("record"),
            "shop",
            pl.col("at").dt.date().alias("day"),
            pl.col("amount").fill_null(0).alias("amount_in"),
        )
    )
    parts.append(
        inputs["movements"].select(
            pl.lit("movements").alias("source"),
            record_ref().alias("record"),
            "shop",
            pl.col("at").dt.date().alias("day"),
            pl.lit(0, dtype=pl.Int64).alias("amount_in"),
        )
    )
    return pl.concat(parts).with_columns(pl.col("shop").fill_null(""))


def _aligned(keys: pl.DataFrame, outcomes: pl.DataFrame) -> bool:
    """True when the outcomes list every input record once, in input order (sources in
    SOURCES order), as the matching writes them: then each outcome row lines up with its
    record and no join on references is needed."""
    return (
        keys.height == outcomes.height
        and keys.get_column("source").equals(outcomes.get_column("source"))
        and keys.get_column("record").equals(outcomes.get_column("record"))
    )


def by_shop_and_day(
    inputs: Mapping[str, pl.DataFrame],
    outcomes: pl.DataFrame,
    keys: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The control totals per source, shop and day: records and fen in, then records and
    fen of each outcome (the outcome rows' own amounts), one row per outcome present.
    `keys` is `_keys(inputs)` when the caller has it already."""
    keys = _keys(inputs) if keys is None else keys
    key = ["source", "shop", "day"]
    into = keys.group_by(key).agg(
        pl.lit("in").alias("line"),
        pl.len().alias("records"),
        pl.col("amount_in").sum().alias("amount"),
    )
    mine = outcomes.select("outcome", pl.col("amount").fill_null(0))
    if _aligned(keys, outcomes):
        placed = keys.select(key).hstack(mine)
    else:  # a record's shop and day found by its reference
        placed = (
            outcomes.select("source", "record", "outcome", pl.col("amount").fill_null(0))
            .join(keys.select("source", "record", "shop", "day").unique(["source", "record"]),
                  on=["source", "record"], how="left")
        )  # fmt: skip
    out = (
        placed.group_by([*key, "outcome"])
        .agg(pl.len().alias("records"), pl.col("amount").sum())
        .rename({"outcome": "line"})
    )
    columns = [*key, "line", "records", "amount"]
    return (
        pl.concat([into.select(columns), out.select(columns)], how="vertical_relaxed")
        .with_columns(pl.col("records").cast(pl.Int64), pl.col("amount").cast(pl.Int64))
        .sort([*key, pl.col("line") != "in", "line"], nulls_last=True)
    )


def _group_problems(table: pl.DataFrame) -> list[str]:
    """Where a source's shop and day took in other totals than its outcomes give out."""
    key = ["source", "shop", "day"]
    into = table.filter(pl.col("line") == "in").select(
        *key, pl.col("records").alias("r_in"), pl.col("amount").alias("a_in")
    )
    out = (
        table.filter(pl.col("line") != "in")
        .group_by(key)
        .agg(pl.col("records").sum().alias("r_out"), pl.col("amount").sum().alias("a_out"))
    )
    diff = into.join(out, on=key, how="full", coalesce=True, nulls_equal=True).filter(
        (pl.col("r_in").fill_null(0) != pl.col("r_out").fill_null(0))
        | (pl.col("a_in").fill_null(0) != pl.col("a_out").fill_null(0))
    )
    problems = [
        f"{row['source']}, shop {row['shop'] or '(none)'}, {row['day']}: {row['r_in'] or 0}"
        f" record(s) and {row['a_in'] or 0} fen in, {row['r_out'] or 0} and"
        f" {row['a_out'] or 0} fen over the outcomes"
        for row in diff.sort(key, nulls_last=True).head(5).iter_rows(named=True)
    ]
    if diff.height > 5:
        problems.append(f"... and {diff.height - 5} more source, shop and day total(s) differ")
    return problems


def reconcile(inputs: Mapping[str, pl.DataFrame], outcomes: pl.DataFrame) -> list[str]:
    """Every difference between the inputs and the outcomes, per source and per source,
    shop and day; empty when none."""
    return _checked(inputs, outcomes)[0]


def _checked(
    inputs: Mapping[str, pl.DataFrame], outcomes: pl.DataFrame
) -> tuple[list[str], pl.DataFrame | None]:
    """The problems, and the totals per source, shop and day when the records add up."""
    problems: list[str] = []
    unknown = set(outcomes.get_column("source").unique().drop_nulls().to_list()) - set(SOURCES)
    for name in sorted(unknown):
        problems.append(f"outcomes name a source that was no input: {name!r}")
    nulls = outcomes.get_column("source").null_count()
    if nulls:
        problems.append(f"{nulls} outcome row(s) name no source")
    missing = [source for source in SOURCES if source not in inputs]
    for source in missing:
        problems.append(f"{source}: no input frame given to check against")
    if missing:
        return problems, None
    keys = _keys(inputs)
    # In the usual case every outcome row is its record, in order: one comparison says
    # so. Otherwise the records are counted per reference to name what differs.
    aligned = _aligned(keys, outcomes)
    for source in SOURCES:
        frame = inputs[source]
        out = outcomes.filter(pl.col("source") == source)
        if frame.height != out.height:
            problems.append(f"{source}: {frame.height} record(s) in, {out.height} outcome row(s)")
        fen_in = money_in(source, frame)
        fen_out = int(out.get_column("amount").fill_null(0).sum()) if out.height else 0
        if fen_in != fen_out:
            problems.append(f"{source}: {fen_in} fen in, {fen_out} fen over the outcomes")
        if not aligned:
            problems.extend(_record_problems(source, frame, out))
    if problems:  # with records lost or made up, the per-day lines would repeat them
        return problems, None
    table = by_shop_and_day(inputs, outcomes, keys)
    return _group_problems(table), table


def _record_problems(source: str, frame: pl.DataFrame, out: pl.DataFrame) -> list[str]:
    """References in the input and the outcomes a different number of times (the same
    count is not enough: one record twice and another missing would pass it)."""
    want = frame.select(record_ref().alias("record")).group_by("record").len("want")
    got = out.select("record").group_by("record").len("got")
    diff = want.join(got, on="record", how="full", coalesce=True).filter(
        pl.col("want").fill_null(0) != pl.col("got").fill_null(0)
    )
    problems = [
        f"{source}: record {row['record']} is in the input {row['want'] or 0} time(s)"
        f" and in the outcomes {row['got'] or 0} time(s)"
        for row in diff.sort("record").head(5).iter_rows(named=True)
    ]
    if diff.height > 5:
        problems.append(f"{source}: ... and {diff.height - 5} more record(s) differ")
    return problems


def ensure_reconciled(inputs: Mapping[str, pl.DataFrame], outcomes: pl.DataFrame) -> pl.DataFrame:
    """Raise ControlError (exit code 5) when the outcomes do not account for the inputs;
    else the control totals per source, shop and day (`by_shop_and_day`)."""
    problems, table = _checked(inputs, outcomes)
    if problems or table is None:
        raise ControlError(problems)
    return table


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
                "amount": money_in(source, frame),
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
