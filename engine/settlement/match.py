"""The three-way matching: platform orders, payment bills and warehouse movements.

`match(orders, payments, movements, tol)` gives every input row exactly one outcome row
(`records.Outcome`), whichever source it came from; nothing is dropped and nothing is
counted twice, which `control.reconcile` checks afterwards. All of it is column work
(group_by, join, when/then); no Python loop runs per record.

How a record gets its outcome, the first rule that fits winning:

Payments (bill rows)
  1. duplicate: the (provider, record_id) pair was seen on an earlier row; the first row
     stays, every repeat is `duplicate` and is left out of every sum below.
  2. other and commission rows are `not_for_orders`; so are fee rows that name no known
     order. A fee row that names an order is checked: the order's fee rows together
     against the contract rate times the money paid for the order, rounded half up;
     beyond `fee_tolerance_fen` it is `fee_mismatch`, else `matched` (with no contract
     rate the fee is not checked and is `matched`).
  3. a payment or refund with no order number is `missing_order`; one that names no
     order is `pending` when it is within its provider's pending window of the period end
     (the order may be in the next export), else `missing_order`.
  4. a payment row that carries its own service fee (the `fee` column: WeChat's 手续费,
     Alipay's 服务费) off the contract rate of its amount beyond `fee_tolerance_fen` is
     `fee_mismatch` (its order's verdict stays on the order's row).
  5. any other payment or refund row shares its order's outcome and reason.

Orders (with paid = money in, refunded = money back, both from the bill rows above;
shipped and returned units from the movements)
  never paid on the platform (unpaid, or closed with no payment time):
  1. units went out -> `shipped_unpaid`
  2. the bills hold money for it -> `status_mismatch`
  3. goods came back for it -> `status_mismatch`
  4. else `matched`: nothing owed.
  paid on the platform (paid, shipped, completed, or closed after payment):
  5. no payment in the bills -> `pending` when paid within the pending window of the
     period end (T+1: it may be in the next bill; `pending_days`, or the order's shop's
     own in `pending_by_channel`), else `missing_payment`
  6. money in short of the order amount beyond `amount_fen` -> `amount_short`; above it,
     or refunds above the money in -> `amount_over`. The money in is compared, not the
     money net of refunds: the platform's amount stays what the buyer paid after a
     refund, so netting would call every refund a shortfall.
  7. closed after payment with no refund in the bills, or refunded in full in the bills
     while the platform still shows it open (paid, shipped, completed) ->
     `status_mismatch`. A partial refund on an open order (a price difference made good)
     is normal and passes.
  8. closed, refunded in full, units shipped and none returned -> `refund_unreturned`
  9. not refunded and nothing shipped -> `pending` within the pending window, else
     `not_shipped`
  10. else `matched`.

Movements
  1. transfers and purchase inbounds are `not_for_orders`.
  2. an outbound with no order number or one naming no order is `shipped_unpaid`; a
     return like that is `missing_order`.
  3. an outbound for an order with no payment in the bills is `shipped_unpaid` (or
     `pending` when its order is pending).
  4. else the row shares its order's outcome and reason.

Columns of `Matching.outcomes`: outcome, order_id, shop (the order's shop name; for a
movement of no known order its own shop code; null for a bill row of no order), source
(orders | payments | movements), record (`file:line`), joins (the other records it was
matched with: an order lists its bill rows and movements, a bill row or movement lists its order, a
duplicate lists the row it repeats), amount (the record's own fen; null for a movement,
which carries none), expected (fen or null: for an order the money in from the bills,
for a payment (money in) row its order's amount, for a fee row minus the fee the
contract rate gives the whole order; null otherwise), reason (one line). Rows come
orders first, then payments, then movements, each in input order, so the same input
gives the same frame.

Combined payments (合并付款, many-to-one): a payment or refund row whose `order_ids`
names several orders pays each its share, split by the orders' amounts in whole fen
(`_combined_parts`; the shares sum to the row's amount exactly). Its orders are then
judged as any other, and the row takes the first outcome among them that is not
`matched` (in the order the note lists them), or `matched`; it joins all of them, and
its `expected` is their amounts' sum. A combined row naming an order that is not among
the orders pays none of them: `missing_order` (or `pending` near the period end). Fee
rows for several orders are `not_for_orders` (fees are checked per order). Several bill
rows for one order (split payments) and several movements for one order (partial
shipments) are summed per order. The `fee` a payment row carries itself (WeChat's 手续费
column) is checked against the rate of the row's own amount (rule 4 above).

`Matching.allocations` is the money each order got (its own rows and its shares), which
the bill reads.

`Matching.control` is the control table (`control.summary`): per source the records and
fen that went in, then the records and fen of each outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import polars as pl

from engine.core.errors import InputError, Issue
from engine.settlement import control
from engine.settlement.records import (
    MOVEMENT_SCHEMA,
    ORDER_SCHEMA,
    PAYMENT_SCHEMA,
    MovementKind,
    OrderStatus,
    Outcome,
    PaymentKind,
)

__all__ = ["OUTCOME_SCHEMA", "Matching", "Tolerance", "match"]

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "outcome": pl.String(),
    "order_id": pl.String(),
    "shop": pl.String(),
    "source": pl.String(),
    "record": pl.String(),
    "joins": pl.List(pl.String()),
    "amount": pl.Int64(),
    "expected": pl.Int64(),
    "reason": pl.String(),
}

_O = Outcome
_EMPTY_REFS = pl.lit([], dtype=pl.List(pl.String()))


@dataclass(frozen=True)
class Tolerance:
    """How far the sources may differ and still match, and the period the bills cover."""

    period_start: datetime
    period_end: datetime
    amount_fen: int = 0
    fee_rate: Decimal | None = None  # the contract's provider fee rate, e.g. 0.006
    fee_tolerance_fen: int = 1
    pending_days: int = 1  # T+1: records this close to the period end may settle later
    # Channels (an order's shop, a payment's provider) whose window differs.
    pending_by_channel: Mapping[str, int] = field(default_factory=dict)

    def pending_window(self, channel: str) -> pl.Expr:
        """Per row, the days a record of `channel` (a column) may wait for its counterpart."""
        if not self.pending_by_channel:
            return pl.lit(self.pending_days, dtype=pl.Int64)
        return pl.col(channel).replace_strict(
            dict(self.pending_by_channel), default=self.pending_days, return_dtype=pl.Int64
        )

    def recent(self, time: str, channel: str) -> pl.Expr:
        """True where the record's `time` falls within its channel's window of the end."""
        days = self.pending_window(channel)
        cutoff = pl.lit(self.period_end) - pl.duration(days=days)
        return (days > 0) & (pl.col(time) >= cutoff)


@dataclass(frozen=True)
class Matching:
    """One outcome row per input record, and the control table that accounts for them."""

    outcomes: pl.DataFrame
    control: pl.DataFrame
    # The money each order got (order_id, kind payment|refund, amount in fen, record):
    # its own bill rows and its share of combined ones; repeats and unknown orders left out.
    allocations: pl.DataFrame


def _check_inputs(frames: dict[str, pl.DataFrame], tol: Tolerance) -> None:
    issues: list[Issue] = []
    schemas = {"orders": ORDER_SCHEMA, "payments": PAYMENT_SCHEMA, "movements": MOVEMENT_SCHEMA}
    for name, frame in frames.items():
        for column, dtype in schemas[name].items():
            if column not in frame.columns:
                issues.append(Issue(f"{name}.{column}", "column missing"))
            elif frame.schema[column] != dtype:
                issues.append(
                    Issue(f"{name}.{column}", f"is {frame.schema[column]}, expected {dtype}")
                )
    if issues:
        raise InputError(issues, "settlement match")
    allowed = {
        ("orders", "status"): [s.value for s in OrderStatus],
        ("payments", "kind"): [k.value for k in PaymentKind],
        ("movements", "kind"): [k.value for k in MovementKind],
    }
    for (name, column), values in allowed.items():
        bad = frames[name].filter(~pl.col(column).is_in(values) | pl.col(column).is_null())
        for row in bad.head(20).iter_rows(named=True):
            issues.append(
                Issue(
                    f"{row['source']}:{row['line']}.{column}",
                    f"{row[column]!r} is not one of {', '.join(values)}",
                )
            )
    orders = frames["orders"]
    for row in orders.filter(pl.col("order_id").is_null()).head(20).iter_rows(named=True):
        issues.append(Issue(f"{row['source']}:{row['line']}.order_id", "missing"))
    repeated = orders.filter(pl.col("order_id").is_not_null() & pl.col("order_id").is_duplicated())
    for row in repeated.head(20).iter_rows(named=True):
        issues.append(
            Issue(f"{row['source']}:{row['line']}.order_id", f"order {row['order_id']} repeats")
        )
    if tol.period_end < tol.period_start:
        issues.append(Issue("tolerance.period_end", "is before period_start"))
    for name in ("amount_fen", "fee_tolerance_fen", "pending_days"):
        if getattr(tol, name) < 0:
            issues.append(Issue(f"tolerance.{name}", "must not be negative"))
    for channel, days in tol.pending_by_channel.items():
        if days < 0:
            issues.append(Issue(f"tolerance.pending_by_channel.{channel}", "must not be negative"))
    if tol.fee_rate is not None and not (0 <= tol.fee_rate < 1):
        issues.append(Issue("tolerance.fee_rate", f"{tol.fee_rate} is not a rate in [0, 1)"))
    if issues:
        raise InputError(issues, "settlement match")


Rule = tuple[pl.Expr, str | pl.Expr, pl.Expr]  # condition, outcome, reason


Rules = tuple[list[Rule], tuple[str, pl.Expr]]  # the rules, then the default's


def _decide(frame: pl.DataFrame, rules: list[Rule], default: tuple[str, pl.Expr]) -> pl.DataFrame:
    """`frame` with `outcome` and `reason` from the first rule whose condition holds
    (the precedence), or the default's.

    The rule of each row is found first (a `when` chain from the last rule back, so the
    first rule is the outermost); each rule's reason is then formatted only for the rows
    it decided. Formatting every reason for every row, as one `when` chain would, took
    half the time of a matching of a million records."""
    n = len(rules)
    rule: pl.Expr = pl.lit(n, dtype=pl.Int32)
    outcome: pl.Expr = pl.lit(default[0])
    for k in reversed(range(n)):
        cond, out, _ = rules[k]
        rule = pl.when(cond).then(pl.lit(k, dtype=pl.Int32)).otherwise(rule)
    for k in reversed(range(n)):
        out = rules[k][1]
        value = pl.lit(out) if isinstance(out, str) else out
        outcome = pl.when(pl.col("_rule") == k).then(value).otherwise(outcome)
    frame = frame.with_columns(rule.alias("_rule"), pl.int_range(pl.len()).alias("_pos"))
    frame = frame.with_columns(outcome.alias("outcome"))
    reasons = [why for _, _, why in rules] + [default[1]]
    pieces = []
    for k, why in enumerate(reasons):
        roots = list(dict.fromkeys(why.meta.root_names()))
        decided = frame.select("_pos", "_rule", *roots).filter(pl.col("_rule") == k)
        if decided.height:
            pieces.append(decided.select("_pos", why.cast(pl.String).alias("reason")))
    if pieces:
        reason = pl.concat(pieces).sort("_pos").get_column("reason")
    else:
        reason = pl.Series("reason", [], dtype=pl.String)
    return frame.with_columns(reason).drop("_rule", "_pos")


def _fmt(template: str, *columns: str | pl.Expr) -> pl.Expr:
    # A null in a reason would blank the whole line: say "none" instead.
    parts = [
        (pl.col(c) if isinstance(c, str) else c).cast(pl.String).fill_null("none") for c in columns
    ]
    return pl.format(template, *parts)


def _order_rules(tol: Tolerance) -> tuple[Rules, pl.Expr]:
    status = pl.col("status")
    closed = status == OrderStatus.CLOSED.value
    never_paid = (status == OrderStatus.UNPAID.value) | (closed & pl.col("paid_at").is_null())
    has_pay = pl.col("n_pay") > 0
    has_ref = pl.col("n_ref") > 0
    full_refund = has_ref & (pl.col("refunded") >= pl.col("paid"))
    shipped = pl.col("shipped") > 0
    recent = tol.recent("paid_at", "shop")
    window = tol.pending_window("shop")
    oid = pl.col("order_id")
    rules: list[Rule] = [
        (
            never_paid & shipped,
            _O.SHIPPED_UNPAID,
            _fmt("order {} was never paid ({}) but {} unit(s) went out", oid, status, "shipped"),
        ),
        (
            never_paid & (has_pay | has_ref),
            _O.STATUS_MISMATCH,
            _fmt(
                "order {} is {} and never paid, yet the bills hold {} fen for it",
                oid,
                status,
                pl.col("paid") - pl.col("refunded"),
            ),
        ),
        (
            never_paid & (pl.col("returned") > 0),
            _O.STATUS_MISMATCH,
            _fmt("order {} was never paid, yet {} unit(s) came back for it", oid, "returned"),
        ),
        (never_paid, _O.MATCHED, _fmt("order {} was never paid: nothing owed", oid)),
        (
            ~has_pay & recent,
            _O.PENDING,
            _fmt(
                "order {} paid at {}, within {} day(s) of the period end: its payment may"
                " come in the next bill",
                oid,
                pl.col("paid_at").dt.strftime("%Y-%m-%d %H:%M"),
                window,
            ),
        ),
        (
            ~has_pay,
            _O.MISSING_PAYMENT,
            _fmt(
                "order {} is paid on the platform ({} fen) but no payment is in the bills",
                oid,
                "amount",
            ),
        ),
        (
            pl.col("paid") < pl.col("amount") - tol.amount_fen,
            _O.AMOUNT_SHORT,
            _fmt(
                "order {}: the bills paid {} fen, the platform says {} fen ({} fen short)",
                oid,
                "paid",
                "amount",
                pl.col("amount") - pl.col("paid"),
            ),
        ),
        (
            pl.col("paid") > pl.col("amount") + tol.amount_fen,
            _O.AMOUNT_OVER,
            _fmt(
                "order {}: the bills paid {} fen, the platform says {} fen ({} fen over)",
                oid,
                "paid",
                "amount",
                pl.col("paid") - pl.col("amount"),
            ),
        ),
        (
            pl.col("refunded") > pl.col("paid") + tol.amount_fen,
            _O.AMOUNT_OVER,
            _fmt("order {}: the bills refunded {} fen of {} fen paid", oid, "refunded", "paid"),
        ),
        (
            closed & ~has_ref,
            _O.STATUS_MISMATCH,
            _fmt("order {} was closed after payment but the bills hold no refund for it", oid),
        ),
        (
            ~closed & full_refund,
            _O.STATUS_MISMATCH,
            _fmt(
                "order {} was refunded in full ({} fen) in the bills but is {} on the platform",
                oid,
                "refunded",
                status,
            ),
        ),
        (
            closed & full_refund & shipped & (pl.col("returned") == 0),
            _O.REFUND_UNRETURNED,
            _fmt(
                "order {} was refunded in full ({} fen) after {} unit(s) went out, none came back",
                oid,
                "refunded",
                "shipped",
            ),
        ),
        (
            ~has_ref & ~shipped & recent,
            _O.PENDING,
            _fmt(
                "order {} paid at {}, within {} day(s) of the period end: its outbound may"
                " come later",
                oid,
                pl.col("paid_at").dt.strftime("%Y-%m-%d %H:%M"),
                window,
            ),
        ),
        (
            ~has_ref & ~shipped,
            _O.NOT_SHIPPED,
            _fmt(
                "order {} is paid ({} fen) and not refunded, but nothing went out for it",
                oid,
                "paid",
            ),
        ),
    ]
    default = (_O.MATCHED.value, _fmt("order {} matches its bills and movements", oid))
    return (rules, default), never_paid


def match(
    orders: pl.DataFrame, payments: pl.DataFrame, movements: pl.DataFrame, tol: Tolerance
) -> Matching:
    """Give every order, bill row and movement exactly one outcome (see the module doc)."""
    inputs = {"orders": orders, "payments": payments, "movements": movements}
    _check_inputs(inputs, tol)
    ref = control.record_ref()

    o = orders.with_row_index("_i").with_columns(ref.alias("record"))
    p = payments.with_row_index("_i").with_columns(ref.alias("record"))
    m = movements.with_row_index("_i").with_columns(ref.alias("record"))
    order_keys = o.select(
        "order_id",
        pl.col("record").alias("order_ref"),
        pl.col("amount").alias("order_amount"),
        pl.col("shop").alias("order_shop"),
    )

    # Payments: the repeats first, so that they count nowhere.
    key = ["provider", "record_id"]
    p = p.with_columns(
        (pl.col("record_id").is_not_null() & (pl.int_range(pl.len()).over(key) > 0)).alias("dup"),
        pl.col("record").first().over(key).alias("first_ref"),
    )
    p = p.join(order_keys, on="order_id", how="left", maintain_order="left")
    kind = pl.col("kind")
    is_money = kind.is_in([PaymentKind.PAYMENT.value, PaymentKind.REFUND.value])
    combined = pl.col("order_ids").list.len() > 1
    parts = _combined_parts(p.filter(combined & is_money), order_keys)
    p = p.join(
        parts.group_by("_i").agg(
            pl.col("order_ref").is_not_null().all().alias("c_known"),
            pl.col("order_id").filter(pl.col("order_ref").is_null()).alias("c_unknown"),
            pl.col("order_ref").drop_nulls().alias("c_refs"),
            pl.col("order_amount").sum().alias("c_total"),
            pl.col("order_shop").drop_nulls().first().alias("c_shop"),
        ),
        on="_i",
        how="left",
        maintain_order="left",
    )
    p = p.with_columns(
        pl.when(combined)
        .then(pl.col("c_known").fill_null(False))
        .otherwise(pl.col("order_ref").is_not_null())
        .alias("known")
    )
    live = ~pl.col("dup") & pl.col("known")
    money = live & is_money
    fees = live & (kind == PaymentKind.FEE.value) & ~combined

    # The money each order got: its own rows, and its share of each combined row.
    fields = ["order_id", "kind", "amount", "record"]
    allocations = pl.concat(
        [
            p.filter((money | fees) & ~combined).select(fields),
            parts.filter(~pl.col("dup") & pl.col("all_known")).select(
                "order_id", "kind", pl.col("share").alias("amount"), "record"
            ),
        ]
    )
    pay_agg = allocations.group_by("order_id").agg(
        (kind == PaymentKind.PAYMENT.value).sum().alias("n_pay"),
        pl.col("amount").filter(kind == PaymentKind.PAYMENT.value).sum().alias("paid"),
        (kind == PaymentKind.REFUND.value).sum().alias("n_ref"),
        (-pl.col("amount").filter(kind == PaymentKind.REFUND.value).sum()).alias("refunded"),
        (-pl.col("amount").filter(kind == PaymentKind.FEE.value).sum()).alias("fee_total"),
        pl.col("record").alias("pay_refs"),
    )
    move_kind = pl.col("kind")
    for_orders = move_kind.is_in([MovementKind.OUTBOUND.value, MovementKind.RETURN.value])
    m = m.join(
        order_keys.select("order_id", "order_ref", "order_shop"),
        on="order_id",
        how="left",
        maintain_order="left",
    )
    move_agg = (
        m.filter(for_orders & pl.col("order_ref").is_not_null())
        .group_by("order_id")
        .agg(
            pl.col("quantity")
            .filter(move_kind == MovementKind.OUTBOUND.value)
            .sum()
            .alias("shipped"),
            pl.col("quantity")
            .filter(move_kind == MovementKind.RETURN.value)
            .sum()
            .alias("returned"),
            pl.col("record").alias("move_refs"),
        )
    )

    # Orders: their sums, then their outcome by the rules' precedence.
    counts = ["n_pay", "paid", "n_ref", "refunded", "fee_total", "shipped", "returned"]
    o = (
        o.join(pay_agg, on="order_id", how="left", maintain_order="left")
        .join(move_agg, on="order_id", how="left", maintain_order="left")
        .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)
    )
    (order_rules, default), never_paid = _order_rules(tol)
    o = _decide(o, order_rules, default).with_columns(never_paid.alias("never_paid"))
    order_out = o.select(
        "outcome",
        "order_id",
        "shop",
        pl.lit("orders").alias("source"),
        "record",
        pl.concat_list(
            pl.coalesce(pl.col("pay_refs"), _EMPTY_REFS),
            pl.coalesce(pl.col("move_refs"), _EMPTY_REFS),
        ).alias("joins"),
        "amount",
        pl.when(pl.col("n_pay") > 0).then(pl.col("paid")).otherwise(None).alias("expected"),
        "reason",
    )
    verdict = o.select(
        "order_id",
        pl.col("outcome").alias("o_outcome"),
        pl.col("reason").alias("o_reason"),
        "never_paid",
        "n_pay",
        "paid",
        "fee_total",
    )

    # Bill rows. A combined row takes the first outcome among its orders that is not
    # `matched` (in the order its note lists them), or `matched` when all are.
    c_verdict = (
        parts.join(verdict.select("order_id", "o_outcome", "o_reason"), on="order_id", how="left")
        .group_by("_i")
        .agg(
            pl.col("o_outcome").filter(pl.col("o_outcome") != _O.MATCHED).first().alias("c_bad"),
            pl.col("o_reason").filter(pl.col("o_outcome") != _O.MATCHED).first().alias("c_why"),
            pl.col("order_id").str.join(", ").alias("c_ids"),
        )
    )
    p = p.join(c_verdict, on="_i", how="left", maintain_order="left")
    p = p.join(verdict, on="order_id", how="left", maintain_order="left")
    if tol.fee_rate is None:
        expected_fee: pl.Expr = pl.lit(None, dtype=pl.Int64)
    else:
        num, den = tol.fee_rate.as_integer_ratio()
        # The contract fee of the money paid, rounded half up, in whole fen.
        expected_fee = (pl.col("paid") * (2 * num) + den) // (2 * den)
    fee_off = (pl.col("fee_total") - expected_fee).abs() > tol.fee_tolerance_fen
    # A payment row that carries its own service fee (WeChat's 手续费, Alipay's 服务费).
    if tol.fee_rate is None:
        row_fee: pl.Expr = pl.lit(None, dtype=pl.Int64)
    else:
        row_fee = (pl.col("amount") * (2 * num) + den) // (2 * den)
    row_fee_off = (
        (kind == PaymentKind.PAYMENT.value)
        & (pl.col("fee") > 0)
        & ((pl.col("fee") - row_fee).abs() > tol.fee_tolerance_fen).fill_null(False)
    )
    oid = pl.col("order_id")
    pay_rules: list[Rule] = [
        (
            pl.col("dup"),
            _O.DUPLICATE,
            _fmt("{} record {} repeats {}", "provider", "record_id", "first_ref"),
        ),
        (
            kind.is_in([PaymentKind.OTHER.value, PaymentKind.COMMISSION.value]),
            _O.NOT_FOR_ORDERS,
            _fmt("a {} row of the bill, no order's money", kind),
        ),
        (
            combined & ~is_money,
            _O.NOT_FOR_ORDERS,
            _fmt("a {} row for several orders: fees are checked per order", kind),
        ),
        (
            combined & ~pl.col("known") & tol.recent("at", "provider"),
            _O.PENDING,
            _fmt(
                "combined {} row for orders {}: {} not yet among the orders, within {} day(s)"
                " of the period end",
                kind,
                pl.col("order_ids").list.join(", "),
                pl.col("c_unknown").list.join(", "),
                tol.pending_window("provider"),
            ),
        ),
        (
            combined & ~pl.col("known"),
            _O.MISSING_ORDER,
            _fmt(
                "combined {} row for orders {}: {} not among the orders",
                kind,
                pl.col("order_ids").list.join(", "),
                pl.col("c_unknown").list.join(", "),
            ),
        ),
        (
            combined & pl.col("c_bad").is_not_null(),
            pl.col("c_bad"),
            _fmt("combined {} row for orders {}: {}", kind, "c_ids", "c_why"),
        ),
        (
            combined,
            _O.MATCHED,
            _fmt("combined {} row for orders {}: all of them match", kind, "c_ids"),
        ),
        (
            (kind == PaymentKind.FEE.value) & ~pl.col("known"),
            _O.NOT_FOR_ORDERS,
            pl.when(oid.is_null())
            .then(pl.lit("a fee row tied to no order"))
            .otherwise(_fmt("a fee row for {}, which is not among the orders", oid)),
        ),
        (
            (kind == PaymentKind.FEE.value) & pl.lit(tol.fee_rate is None),
            _O.MATCHED,
            _fmt("fee of order {}: no contract rate given, not checked", oid),
        ),
        (
            (kind == PaymentKind.FEE.value) & fee_off,
            _O.FEE_MISMATCH,
            _fmt(
                "fees of order {} total {} fen; the contract rate {} of {} fen paid is {} fen",
                oid,
                "fee_total",
                pl.lit(str(tol.fee_rate)),
                "paid",
                expected_fee,
            ),
        ),
        (
            kind == PaymentKind.FEE.value,
            _O.MATCHED,
            _fmt("fees of order {} total {} fen, as the contract rate gives", oid, "fee_total"),
        ),
        (
            oid.is_null(),
            _O.MISSING_ORDER,
            _fmt("{} row with no order number (merchant order no {})", kind, "merchant_order_no"),
        ),
        (
            ~pl.col("known")
            & kind.is_in([PaymentKind.PAYMENT.value, PaymentKind.REFUND.value])
            & tol.recent("at", "provider"),
            _O.PENDING,
            _fmt(
                "{} row for order {} at {}, within {} day(s) of the period end: its order may"
                " come in the next export",
                kind,
                oid,
                pl.col("at").dt.strftime("%Y-%m-%d %H:%M"),
                tol.pending_window("provider"),
            ),
        ),
        (
            ~pl.col("known"),
            _O.MISSING_ORDER,
            _fmt("{} row for order {}, which is not among the orders", kind, oid),
        ),
        (
            row_fee_off,
            _O.FEE_MISMATCH,
            _fmt(
                "the {} row's own service fee is {} fen; the contract rate {} of its {} fen"
                " is {} fen",
                "provider",
                "fee",
                pl.lit(str(tol.fee_rate)),
                "amount",
                row_fee,
            ),
        ),
    ]
    pay_out = _decide(p, pay_rules, ("", pl.lit(""))).select(
        pl.when(pl.col("outcome") == "")
        .then(pl.col("o_outcome"))
        .otherwise("outcome")
        .alias("outcome"),
        "order_id",
        pl.when(combined).then(pl.col("c_shop")).otherwise(pl.col("order_shop")).alias("shop"),
        pl.lit("payments").alias("source"),
        "record",
        pl.when(pl.col("dup"))
        .then(pl.concat_list(pl.col("first_ref")))
        .when(combined)
        .then(pl.coalesce(pl.col("c_refs"), _EMPTY_REFS))
        .when(pl.col("known"))
        .then(pl.concat_list(pl.col("order_ref")))
        .otherwise(_EMPTY_REFS)
        .alias("joins"),
        "amount",
        pl.when(pl.col("dup"))
        .then(None)
        .when(live & (kind == PaymentKind.FEE.value))
        .then(-expected_fee)
        .when(live & combined & (kind == PaymentKind.PAYMENT.value))
        .then(pl.col("c_total"))
        .when(live & (kind == PaymentKind.PAYMENT.value))
        .then(pl.col("order_amount"))
        .otherwise(None)
        .cast(pl.Int64)
        .alias("expected"),
        pl.when(pl.col("outcome") == "")
        .then(pl.col("o_reason"))
        .otherwise("reason")
        .alias("reason"),
    )

    # Movements.
    m = m.join(verdict, on="order_id", how="left", maintain_order="left")
    known_m = pl.col("order_ref").is_not_null()
    outbound = move_kind == MovementKind.OUTBOUND.value
    move_rules: list[Rule] = [
        (~for_orders, _O.NOT_FOR_ORDERS, _fmt("a {} movement, for no order", move_kind)),
        (
            outbound & oid.is_null(),
            _O.SHIPPED_UNPAID,
            _fmt("outbound {} with no order number", "doc_no"),
        ),
        (
            outbound & ~known_m,
            _O.SHIPPED_UNPAID,
            _fmt("outbound {} for order {}, which is not among the orders", "doc_no", oid),
        ),
        (
            ~outbound & oid.is_null(),
            _O.MISSING_ORDER,
            _fmt("return {} with no order number", "doc_no"),
        ),
        (
            ~outbound & ~known_m,
            _O.MISSING_ORDER,
            _fmt("return {} for order {}, which is not among the orders", "doc_no", oid),
        ),
        (
            outbound
            & ~pl.col("never_paid")
            & (pl.col("n_pay") == 0)
            & (pl.col("o_outcome") != _O.PENDING),
            _O.SHIPPED_UNPAID,
            _fmt("outbound {} for order {}, which has no payment in the bills", "doc_no", oid),
        ),
    ]
    move_out = _decide(m, move_rules, ("", pl.lit(""))).select(
        pl.when(pl.col("outcome") == "")
        .then(pl.col("o_outcome"))
        .otherwise("outcome")
        .alias("outcome"),
        "order_id",
        pl.coalesce(pl.col("order_shop"), pl.col("shop")).alias("shop"),
        pl.lit("movements").alias("source"),
        "record",
        pl.when(known_m)
        .then(pl.concat_list(pl.col("order_ref")))
        .otherwise(_EMPTY_REFS)
        .alias("joins"),
        pl.lit(None, dtype=pl.Int64).alias("amount"),
        pl.lit(None, dtype=pl.Int64).alias("expected"),
        pl.when(pl.col("outcome") == "")
        .then(pl.col("o_reason"))
        .otherwise("reason")
        .alias("reason"),
    )

    outcomes = pl.concat(
        [frame.cast(OUTCOME_SCHEMA) for frame in (order_out, pay_out, move_out)]  # type: ignore[arg-type]
    )
    return Matching(
        outcomes=outcomes,
        control=control.summary(inputs, outcomes),
        allocations=allocations.filter(kind.is_in([PaymentKind.PAYMENT, PaymentKind.REFUND])),
    )


def _combined_parts(rows: pl.DataFrame, order_keys: pl.DataFrame) -> pl.DataFrame:
    """One row per order of each combined payment or refund, with its share of the
    row's money: split by the orders' amounts, in whole fen, the shares summing to the
    row's amount exactly (each share is the difference of two floors of a running
    total, so no fen is lost or made up)."""
    parts = (
        rows.select("_i", "record", "kind", "amount", "dup", pl.col("order_ids").alias("order_id"))
        .explode("order_id")
        .join(order_keys, on="order_id", how="left", maintain_order="left")
        .with_columns(pl.col("order_ref").is_not_null().all().over("_i").alias("all_known"))
    )
    weight = pl.col("order_amount").fill_null(0)
    total = weight.sum().over("_i")
    upto = weight.cum_sum().over("_i")
    amount = pl.col("amount")
    first = pl.int_range(pl.len()).over("_i") == 0
    share = (
        pl.when(total > 0)
        .then((amount * upto) // total - (amount * (upto - weight)) // total)
        .when(first)  # orders of no amount: the first takes it all
        .then(amount)
        .otherwise(0)
    )
    return parts.with_columns(share.cast(pl.Int64).alias("share"))
