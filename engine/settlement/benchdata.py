"""A month of settlement files of any size, in the formats the readers take: the
benchmark's input (`omnistock settle bench`) and the reference cross-check's.

`write_month(directory, orders=N, seed=S)` writes, for brand b1 and November 2026:

- `orders.csv`: the Taobao/Tmall seller order export (28 columns, GBK, CRLF);
- `alipay-trade.zip`: the Alipay trade bill (业务明细) as Alipay delivers it, a zip of a
  GBK CSV with its `#` preamble and footer and every id followed by a tab, beside its
  汇总 member (written by samples.alipay_zip, which stores rather than deflates: Alipay's
  own zips are deflated, so a real one also costs the reader its inflating);
- `alipay-account.csv`: the Alipay account bill (账务明细, 12 columns, GBK) with the
  service-fee rows, affiliate commissions, withdrawals and transfers in;
- `warehouse.csv`: the warehouse in/out records (UTF-8);
- `contract.yaml`: the brand's contract (5 % of settled GMV, fee rate 0.006, T+1, one
  shop with a two-day pending window, the `T200P` prefix).

Every order is one case of `CASES`, drawn in fixed shares (the rest are clean: paid in
full in one bill row, shipped, completed): never paid, presale orders paid in two bill
rows, partial shipments, refunds with and without the goods back, a price difference
refunded, no payment, short, over, closed without a refund, refunded but still open,
not shipped, the bill row twice, paid in the last day (its bill row or its outbound comes
next month), shipped or billed though never paid. Beside them: bill rows of orders the
export does not hold (some in the last day: pending), bill rows with no order number,
outbounds and returns of unknown orders, stock transfers and purchase inbounds.

The counts asked are met exactly: `orders` rows in the export, `payments` rows over the
two bills (the trade bill holds what the orders make, two in a thousand clean payments
with their own service fee off the contract rate; the account bill takes the rest: fee
rows for orders, three in a hundred wrong, then commissions and other rows) and
`movements` rows (what the orders make, then transfers and purchases). One bill row never
pays several orders (combined payments are not generated). Everything is column work
(numpy draws, polars formatting): no Python loop runs per row. The same seed writes the
same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from engine.core.errors import InputError, Issue
from engine.settlement.samples import (
    ALIPAY_ACCOUNT_COLUMNS,
    ALIPAY_TRADE_COLUMNS,
    MOVEMENT_COLUMNS,
    ORDER_COLUMNS,
    alipay_zip,
)

__all__ = ["CASES", "END", "PERIOD", "START", "Month", "Case", "write_month"]

PERIOD = "2026-11"
START = datetime(2026, 11, 1)
END = datetime(2026, 12, 1)
DAY = 86_400
_SPAN = int((END - START).total_seconds())
_FEE_RATE = (6, 1000)  # the contract's 0.006, as a fraction: fees in whole fen, half up
_ORDER_BASE = 3_800_000_000_000_000_000  # Taobao order ids run to 19 digits
_GHOST_BASE = 3_700_000_000_000_000_000  # orders of another month: not in this export
_SHOPS = ("示例官方旗舰店", "示例专营店", "示例母婴专营店")
_SHOP_CODES = ("S001", "S002", "S003")
_SHOP_SHARES = (0.6, 0.3, 0.1)
_CRLF = "\r\n"  # the platform's and Alipay's files are written on Windows
_BLANK = pl.lit(None, dtype=pl.String)  # a blank cell

_DONE, _SENT, _PAID = "交易成功", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货"
_UNPAID, _CLOSED = "等待买家付款", "交易关闭"


@dataclass(frozen=True)
class Case:
    """What one kind of order leaves in each file."""

    name: str
    share: float  # of all orders
    status: str  # 订单状态
    close_reason: str = ""
    paid: bool = True  # has a payment time on the platform
    late: bool = False  # paid in the last day of the month
    pay: str = "full"  # bill rows for it: none, full, short, over, split (deposit + balance)
    refund: str = "none"  # none, full, partial, over
    ships: int = 1  # outbound lines
    returns: bool = False  # a return inbound
    repeated: bool = False  # its payment row is in the bill twice


# The clean order is the first; its share is what the others leave.
CASES: tuple[Case, ...] = (
    Case("clean", 0.0, _DONE),
    Case("unpaid", 0.015, _UNPAID, paid=False, pay="none", ships=0),
    Case("closed_unpaid", 0.10, _CLOSED, "买家未付款", paid=False, pay="none", ships=0),
    Case("split_payment", 0.03, _DONE, pay="split"),
    Case("partial_shipment", 0.03, _DONE, ships=2),
    Case("refund_returned", 0.02, _CLOSED, "退款成功", refund="full", returns=True),
    Case("refund_before_shipping", 0.01, _CLOSED, "退款成功", refund="full", ships=0),
    Case("price_refund", 0.01, _DONE, refund="partial"),
    Case("no_payment", 0.004, _DONE, pay="none"),
    Case("short", 0.003, _DONE, pay="short"),
    Case("over", 0.002, _DONE, pay="over"),
    Case("refund_over", 0.0005, _CLOSED, "退款成功", refund="over", returns=True),
    Case("closed_unrefunded", 0.003, _CLOSED, "卖家关闭", ships=0),
    Case("refunded_open", 0.002, _DONE, refund="full"),
    Case("refund_unreturned", 0.004, _CLOSED, "退款成功", refund="full"),
    Case("not_shipped", 0.004, _PAID, ships=0),
    Case("duplicate", 0.005, _DONE, repeated=True),
    Case("late_bill", 0.006, _PAID, late=True, pay="none", ships=0),
    Case("late_outbound", 0.006, _PAID, late=True, ships=0),
    Case("shipped_unpaid", 0.001, _CLOSED, "买家未付款", paid=False, pay="none"),
    Case("billed_unpaid", 0.0005, _UNPAID, paid=False, ships=0),
)
# Below this many orders not every case is forced to appear at least once.
_EVERY_CASE_FROM = 400

# Records of no order of the export, per order asked.
_GHOST_TRADES = 0.001  # bill rows of another month's orders; every other one in the last day
_NUMBERLESS_TRADES = 0.0002  # bill rows with no merchant order number
_GHOST_OUTBOUNDS = 0.0005
_GHOST_RETURNS = 0.002  # returns of last month's orders


@dataclass(frozen=True)
class Month:
    """The files written, by the source they are given as, and the rows in each."""

    directory: Path
    contract: Path
    files: dict[str, list[Path]]  # orders, payments, movements
    rows: dict[str, int]  # per file name
    totals: dict[str, int]  # per source


def _fen_text(fen: pl.Expr) -> pl.Expr:
    """Fen as yuan text, "-12.05" (exact: integer division, no float)."""
    size = fen.abs()
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    cents = (size % 100).cast(pl.String).str.zfill(2)
    return pl.concat_str(sign, (size // 100).cast(pl.String), pl.lit("."), cents)


def _time_text(seconds: pl.Expr) -> pl.Expr:
    """Seconds into the month as 'YYYY-MM-DD HH:MM:SS'."""
    at = pl.lit(START) + pl.duration(seconds=seconds)
    return at.dt.strftime("%Y-%m-%d %H:%M:%S")


def _csv(frame: pl.DataFrame, line_terminator: str = "\n") -> str:
    # A blank cell is null in the frame: written bare, as the platforms write it, where
    # an empty string would come out quoted.
    return frame.write_csv(line_terminator=line_terminator)


def _tabbed(cell: pl.Expr) -> pl.Expr:
    """An id as Alipay writes it: a tab after it (Excel then leaves it text); blank stays
    blank."""
    return cell + "\t"  # null (blank) stays null


def _case_counts(orders: int) -> np.ndarray:
    shares = np.array([case.share for case in CASES])
    counts = np.rint(shares * orders).astype(np.int64)
    if orders >= _EVERY_CASE_FROM:
        counts[1:] = np.maximum(counts[1:], 1)
    counts[0] = orders - counts[1:].sum()
    return counts


def _lookup(field: str, case: np.ndarray) -> np.ndarray:
    return np.array([getattr(one, field) for one in CASES])[case]


def _case_index(name: str) -> int:
    return next(i for i, case in enumerate(CASES) if case.name == name)


@dataclass
class _Orders:
    """The orders as arrays, one entry per order (in export order)."""

    case: np.ndarray
    order_id: np.ndarray  # int64
    created: np.ndarray  # seconds into the month
    paid: np.ndarray  # seconds; -1 when never paid
    amount: np.ndarray  # fen
    quantity: np.ndarray
    shop: np.ndarray  # index into _SHOPS
    status: np.ndarray  # text
    close_reason: np.ndarray
    pay: np.ndarray
    refund: np.ndarray
    ships: np.ndarray  # outbound lines
    returns: np.ndarray
    repeated: np.ndarray
    ship_at: np.ndarray  # seconds; -1 when nothing went out
    back_at: np.ndarray  # seconds; -1 when nothing came back


def _draw_orders(rng: np.random.Generator, n: int) -> _Orders:
    case = rng.permutation(np.repeat(np.arange(len(CASES)), _case_counts(n)))
    late = _lookup("late", case)
    # Orders other than the late ones are paid more than a day and six hours before the
    # end, so no pending window (at most two days here) reaches them by accident.
    created = rng.integers(0, _SPAN - 2 * DAY - 6 * 3600, n)
    created[late] = rng.integers(_SPAN - DAY + 1800, _SPAN - 1200, int(late.sum()))
    order = np.argsort(created, kind="stable")  # the export lists orders as created
    case, created, late = case[order], created[order], late[order]
    paid = created + rng.integers(10, 1200, n)
    paid[~_lookup("paid", case)] = -1
    gaps = rng.integers(1, 1000, n)
    order_id = _ORDER_BASE + np.cumsum(gaps)
    # Prices of a fashion-and-home brand: mostly tens to hundreds of yuan.
    amount = np.clip(rng.lognormal(np.log(15_000), 0.8, n), 990, 2_000_000).astype(np.int64)
    quantity = rng.choice(np.array([1, 2, 3]), n, p=[0.7, 0.2, 0.1])
    ships = _lookup("ships", case)
    quantity[ships == 2] = np.maximum(quantity[ships == 2], 2)  # two lines, a unit each at least
    shop = rng.choice(len(_SHOPS), n, p=list(_SHOP_SHARES))
    status = _lookup("status", case).astype(object)
    clean = case == 0
    status[clean & (rng.random(n) < 0.15)] = _SENT  # not yet confirmed by the buyer
    # Out within a day and a half of payment, back (when it comes back) 3-10 days later:
    # all inside the month, since only the late orders are paid near its end.
    ship_at = np.where(paid >= 0, paid, created) + rng.integers(2 * 3600, 36 * 3600, n)
    back_at = np.minimum(ship_at + rng.integers(3 * DAY, 10 * DAY, n), _SPAN - 600)
    returns = _lookup("returns", case)
    ship_at[ships == 0] = -1
    back_at[~returns] = -1
    return _Orders(
        case=case,
        order_id=order_id,
        created=created,
        paid=paid,
        amount=amount,
        quantity=quantity,
        shop=shop,
        status=status,
        close_reason=_lookup("close_reason", case).astype(object),
        pay=_lookup("pay", case),
        refund=_lookup("refund", case),
        ships=ships,
        returns=returns,
        repeated=_lookup("repeated", case),
        ship_at=ship_at,
        back_at=back_at,
    )


def _orders_csv(o: _Orders) -> str:
    n = len(o.case)
    index = np.arange(n)
    frame = pl.DataFrame(
        {
            "id": o.order_id,
            "i": index,
            "created": o.created,
            "paid": o.paid,
            "amount": o.amount,
            "quantity": o.quantity,
            "shop": np.array(_SHOPS, dtype=object)[o.shop],
            "shop_code": np.array(_SHOP_CODES, dtype=object)[o.shop],
            "status": o.status,
            "reason": o.close_reason,
            "sent": o.ships > 0,
        },
        schema_overrides={"shop": pl.String, "shop_code": pl.String, "status": pl.String},
    )
    amount = _fen_text(pl.col("amount"))
    buyer = pl.col("i") % 97_331
    cells = {
        "订单编号": pl.col("id").cast(pl.String),
        "买家会员名": pl.format("tb{}", buyer),
        "买家支付宝账号": pl.format("buyer{}@example.com", buyer),
        "买家应付货款": amount,
        "买家应付邮费": pl.lit("0.00"),
        "买家支付积分": pl.lit("0"),
        "总金额": amount,
        "返点积分": pl.lit("0"),
        "买家实际支付金额": amount,
        "买家实际支付积分": pl.lit("0"),
        "订单状态": pl.col("status"),
        "买家留言": _BLANK,
        "收货人姓名": pl.lit("张三"),
        "收货地址": pl.lit("浙江省 杭州市 西湖区 示例路1号"),
        "运送方式": pl.lit("快递"),
        "联系电话": _BLANK,
        "联系手机": pl.format("138****{}", (buyer % 10_000).cast(pl.String).str.zfill(4)),
        "订单创建时间": _time_text(pl.col("created")),
        "订单付款时间": pl.when(pl.col("paid") >= 0)
        .then(_time_text(pl.col("paid")))
        .otherwise(_BLANK),
        "宝贝标题": pl.lit("示例商品"),
        "宝贝种类": pl.lit("1"),
        "物流单号": pl.when(pl.col("sent"))
        .then(pl.format("SF{}", (pl.col("i") + 10**11).cast(pl.String)))
        .otherwise(_BLANK),
        "物流公司": pl.when(pl.col("sent")).then(pl.lit("顺丰速运")).otherwise(_BLANK),
        "订单备注": _BLANK,
        "宝贝总数量": pl.col("quantity").cast(pl.String),
        "店铺Id": pl.col("shop_code"),
        "店铺名称": pl.col("shop"),
        "订单关闭原因": pl.when(pl.col("reason") != "").then(pl.col("reason")),
    }
    table = frame.select(cells[name].alias(name) for name in ORDER_COLUMNS)
    return _csv(table, _CRLF)


class _Rows:
    """Rows of one file gathered part by part, each part a dict of equal-length arrays."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, **columns: np.ndarray) -> None:
        self.parts.append(columns)

    def frame(self) -> pl.DataFrame:
        names = self.parts[0].keys()
        return pl.DataFrame({name: np.concatenate([p[name] for p in self.parts]) for name in names})


def _zeros(like: np.ndarray) -> np.ndarray:
    return np.zeros(len(like), dtype=np.int64)


def _trade_frame(rng: np.random.Generator, o: _Orders) -> pl.DataFrame:
    """The trade bill's rows: order_id (0: no merchant order number), trade (the Alipay
    trade's sequence; a refund keeps its trade's), trade_at (when that trade was paid),
    refund, fen (signed), at, batch (refund batch; 0 for a payment)."""
    count = len(o.case)
    index = np.arange(count)
    rows = _Rows()

    def trades(
        at_rows: np.ndarray,
        fen: np.ndarray,
        at: np.ndarray,
        trade: np.ndarray,
        fee_off: np.ndarray | None = None,
    ) -> None:
        rows.add(
            order_id=o.order_id[at_rows],
            trade=trade,
            trade_at=at,
            refund=np.zeros(len(at_rows), dtype=bool),
            fen=fen,
            at=at,
            batch=_zeros(at_rows),
            fee_off=_zeros(at_rows) if fee_off is None else fee_off,
        )

    one = index[(o.pay != "none") & (o.pay != "split")]
    fen = o.amount[one].copy()
    for pay, sign in (("short", -1), ("over", 1)):
        bent = o.pay[one] == pay
        # Off by 2 to 50 yuan, never by half the order or more: a short payment stays one.
        off = np.minimum(rng.integers(200, 5_000, int(bent.sum())), fen[bent] // 2)
        fen[bent] += sign * off
    # An order never paid on the platform whose money the bill has anyway.
    at = np.where(o.paid[one] >= 0, o.paid[one], o.created[one] + 600) + 3
    # Two in a thousand clean payments carry a service fee off the contract rate.
    fee_off = np.where(
        (o.case[one] == 0) & (rng.random(len(one)) < 0.002), rng.integers(5, 200, len(one)), 0
    )
    trades(one, fen, at, one + 1, fee_off)
    twice = index[o.repeated]  # the same record again, byte for byte
    trades(twice, o.amount[twice], o.paid[twice] + 3, twice + 1)
    # Presale: the deposit when ordered, the balance days later, a trade each.
    split = index[o.pay == "split"]
    deposit = o.amount[split] // 5
    trades(split, deposit, o.paid[split] + 3, split + 1)
    later = o.paid[split] + rng.integers(DAY, 5 * DAY, len(split))
    later = np.maximum(np.minimum(later, _SPAN - 2 * DAY), o.paid[split] + 60)
    trades(split, o.amount[split] - deposit, later, split + 1 + count)

    # Refunds: after the goods came back, else after shipping or payment. In full (a
    # fifth of the returned ones in two batches), a fifth of it, or more than was paid.
    back = index[o.refund != "none"]
    kind = o.refund[back]
    base = np.where(o.returns[back], o.back_at[back], np.maximum(o.ship_at[back], o.paid[back]))
    when = np.minimum(base + 7200, _SPAN - 120)
    size = o.amount[back].copy()
    size[kind == "partial"] = np.maximum(size[kind == "partial"] // 5, 1)
    size[kind == "over"] += rng.integers(200, 3_000, int((kind == "over").sum()))
    halves = (kind == "full") & o.returns[back] & (rng.random(len(back)) < 0.2)
    first = np.where(halves, size // 2, size)
    for part, fen, at, batch in (
        (back, -first, when, back + 1),
        (back[halves], -(size - first)[halves], when[halves] + 60, back[halves] + 1 + count),
    ):
        rows.add(
            order_id=o.order_id[part],
            trade=part + 1,
            trade_at=o.paid[part] + 3,
            refund=np.ones(len(part), dtype=bool),
            fen=fen,
            at=at,
            batch=batch,
            fee_off=_zeros(part),
        )

    # Rows of orders not in this export (every other one in the last day: pending) and
    # rows with no merchant order number.
    for share, ghost in ((_GHOST_TRADES, True), (_NUMBERLESS_TRADES, False)):
        size_of = max(1, round(count * share))
        at = rng.integers(0, _SPAN - 2 * DAY, size_of)
        if ghost:
            at[::2] = rng.integers(_SPAN - DAY + 60, _SPAN - 60, len(at[::2]))
        first_trade = 2 * count + 1 + sum(len(p["trade"]) for p in rows.parts)
        rows.add(
            order_id=_GHOST_BASE + 7 * np.arange(size_of) if ghost else _zeros(at),
            trade=first_trade + np.arange(size_of),
            trade_at=at,
            refund=np.zeros(size_of, dtype=bool),
            fen=rng.integers(990, 50_000, size_of),
            at=at,
            batch=_zeros(at),
            fee_off=_zeros(at),
        )
    # A bill lists its rows as they happened.
    return rows.frame().sort("at", "trade", "batch", "refund", maintain_order=True)


def _trade_number(trade: pl.Expr, trade_at: pl.Expr) -> pl.Expr:
    """Alipay's 28-digit trade number: the trade's date, 22001, a 15-digit sequence."""
    day = (pl.lit(START) + pl.duration(seconds=trade_at)).dt.strftime("%Y%m%d")
    return pl.concat_str(day, pl.lit("22001"), trade.cast(pl.String).str.zfill(15))


def _merchant_no(order_id: pl.Expr) -> pl.Expr:
    return (
        pl.when(order_id > 0)
        .then(pl.concat_str(pl.lit("T200P"), order_id.cast(pl.String)))
        .otherwise(_BLANK)
    )


_RULE = "-" * 41


def _alipay_head(title: str) -> str:
    return (
        f"#支付宝{title}查询{_CRLF}#账号：[20880000000000000156]{_CRLF}"
        f"#起始日期：[2026年11月01日 00:00:00]   终止日期：[2026年12月01日 00:00:00]{_CRLF}"
        f"#{_RULE}{title}列表{_RULE}{_CRLF}"
    )


def _trade_text(frame: pl.DataFrame) -> str:
    refund = pl.col("refund")
    fen = pl.col("fen")
    rated = (fen * 2 * _FEE_RATE[0] + _FEE_RATE[1]) // (2 * _FEE_RATE[1])
    fee = pl.when(refund).then(0).otherwise(rated + pl.col("fee_off"))
    zero = pl.lit("0.00")
    blank = _BLANK
    cells = {
        "支付宝交易号": _tabbed(_trade_number(pl.col("trade"), pl.col("trade_at"))),
        "商户订单号": _tabbed(_merchant_no(pl.col("order_id"))),
        "业务类型": pl.when(refund).then(pl.lit("退款")).otherwise(pl.lit("交易")),
        "商品名称": pl.lit("示例商品"),
        "创建时间": _time_text(pl.col("trade_at")),
        "完成时间": _time_text(pl.col("at")),
        "对方账户": pl.lit("buyer***@example.com"),
        "订单金额（元）": _fen_text(fen),
        "商家实收（元）": _fen_text(fen),
        "退款批次号/请求号": _tabbed(
            pl.when(pl.col("batch") > 0)
            .then(pl.concat_str(pl.lit("R"), pl.col("batch").cast(pl.String).str.zfill(12)))
            .otherwise(blank)
        ),
        "服务费（元）": _fen_text(-fee),
    }
    money_columns = {name for name in ALIPAY_TRADE_COLUMNS if name.endswith("（元）")}
    body = frame.select(
        cells.get(name, zero if name in money_columns else blank).alias(name)
        for name in ALIPAY_TRADE_COLUMNS
    )
    totals = frame.select(
        (~refund).sum().alias("trades"),
        fen.filter(~refund).sum().alias("in"),
        refund.sum().alias("refunds"),
    ).row(0, named=True)
    taken = int(totals["in"] or 0)
    foot = (
        f"#{_RULE}业务明细列表结束{_RULE}{_CRLF}"
        f"#交易合计：{totals['trades']}笔，商家实收共{taken // 100}.{taken % 100:02d}元，"
        f"商家优惠共0.00元{_CRLF}#退款合计：{totals['refunds']}笔{_CRLF}"
        f"#导出时间：[2026年12月01日 09:00:00]{_CRLF}"
    )
    return _alipay_head("业务明细") + _csv(body, _CRLF) + foot


# Orders whose fee rows the account bill may carry: paid in full in the trade bill.
_FEE_CASES = ("clean", "split_payment", "partial_shipment", "duplicate")


def _account_frame(rng: np.random.Generator, o: _Orders, rows: int) -> pl.DataFrame:
    """`rows` account-bill rows: fee rows of paid orders (one per order, 3 % of them
    wrong, a tenth naming the order in 备注 only), fee rows of unknown orders, affiliate
    commissions, withdrawals and transfers in."""
    count = len(o.case)
    eligible = np.flatnonzero(np.isin(o.case, [_case_index(name) for name in _FEE_CASES]))
    ghost_fees, commissions, others = (round(rows * share) for share in (0.005, 0.05, 0.03))
    fees = rows - ghost_fees - commissions - others
    if fees > len(eligible):  # more rows asked than orders to charge: more transfers
        others, fees = others + fees - len(eligible), len(eligible)
    out = _Rows()
    charged = np.sort(rng.choice(eligible, fees, replace=False))
    fee = (o.amount[charged] * 2 * _FEE_RATE[0] + _FEE_RATE[1]) // (2 * _FEE_RATE[1])
    wrong = rng.random(fees) < 0.03
    fee[wrong] += rng.integers(2, 300, int(wrong.sum()))
    out.add(
        kind=np.full(fees, "fee"),
        order_id=o.order_id[charged],
        trade=charged + 1,
        trade_at=o.paid[charged] + 3,
        at=np.minimum(o.paid[charged] + 7200, _SPAN - 60),
        fen=-fee,
        in_note=rng.random(fees) < 0.1,
    )
    ghost_at = rng.integers(0, _SPAN - 2 * DAY, ghost_fees)
    out.add(
        kind=np.full(ghost_fees, "fee"),
        order_id=_GHOST_BASE + 7 * np.arange(ghost_fees) + 3,
        trade=3 * count + 1 + np.arange(ghost_fees),
        trade_at=ghost_at,
        at=ghost_at + 7200,
        fen=-rng.integers(6, 300, ghost_fees),
        in_note=np.zeros(ghost_fees, dtype=bool),
    )
    taker = rng.choice(eligible, commissions)
    out.add(
        kind=np.full(commissions, "commission"),
        order_id=o.order_id[taker],
        trade=taker + 1,
        trade_at=o.paid[taker] + 3,
        at=np.minimum(o.paid[taker] + 3 * DAY, _SPAN - 60),
        fen=-np.maximum(o.amount[taker] // 20, 1),
        in_note=np.zeros(commissions, dtype=bool),
    )
    withdrawal = rng.random(others) < 0.5
    out.add(
        kind=np.where(withdrawal, "withdrawal", "transfer_in"),
        order_id=np.zeros(others, dtype=np.int64),
        trade=4 * count + 1 + np.arange(others),
        trade_at=rng.integers(0, _SPAN - 60, others),
        at=rng.integers(0, _SPAN - 60, others),
        # Withdrawals take money out; transfers in bring it.
        fen=np.where(withdrawal, -1, 1) * rng.integers(100_000, 5_000_000, others),
        in_note=np.zeros(others, dtype=bool),
    )
    return (
        out.frame()
        .sort("at", "trade", "kind", maintain_order=True)
        .with_row_index("seq", offset=1)
        .with_columns((100_000_000 + pl.col("fen").cum_sum()).alias("balance"))
    )


def _account_text(frame: pl.DataFrame) -> str:
    kind, order, fen = pl.col("kind"), pl.col("order_id"), pl.col("fen")
    is_fee = kind == "fee"
    by_kind = {  # 业务类型 and 备注 per kind: how the reader tells the rows apart
        "fee": ("交易服务费", "信用卡支付服务费"),
        "commission": ("交易", "淘宝客佣金代扣款"),
        "withdrawal": ("提现", "提现到银行卡"),
        "transfer_in": ("转账", "营销活动补贴"),
    }
    business = kind.replace_strict({k: v[0] for k, v in by_kind.items()}, return_dtype=pl.String)
    note = kind.replace_strict({k: v[1] for k, v in by_kind.items()}, return_dtype=pl.String)
    in_note = pl.col("in_note")
    cells = {
        "账务流水号": _tabbed(
            pl.concat_str(pl.lit("2026"), pl.col("seq").cast(pl.String).str.zfill(16))
        ),
        "业务流水号": _tabbed(_trade_number(pl.col("trade"), pl.col("trade_at"))),
        "商户订单号": _tabbed(pl.when(in_note).then(_BLANK).otherwise(_merchant_no(order))),
        "商品名称": pl.when(order > 0).then(pl.lit("示例商品")).otherwise(_BLANK),
        "发生时间": _time_text(pl.col("at")),
        "对方账号": pl.when(kind == "withdrawal")
        .then(pl.lit("招商银行(尾号0156)"))
        .otherwise(pl.lit("tmall***@alipay.com")),
        "收入金额（+元）": pl.when(fen > 0).then(_fen_text(fen)).otherwise(pl.lit("0.00")),
        "支出金额（-元）": pl.when(fen < 0).then(_fen_text(fen)).otherwise(pl.lit("0.00")),
        "账户余额（元）": _fen_text(pl.col("balance")),
        "交易渠道": pl.lit("支付宝"),
        "业务类型": business,
        # Some fee rows name their order only here, in brackets.
        "备注": pl.when(is_fee & in_note)
        .then(pl.concat_str(pl.lit("花呗支付服务费【"), order.cast(pl.String), pl.lit("】")))
        .otherwise(note),
    }
    body = frame.select(cells[name].alias(name) for name in ALIPAY_ACCOUNT_COLUMNS)
    spent = frame.filter(fen < 0).height
    foot = (
        f"#{_RULE}账务明细列表结束{_RULE}{_CRLF}"
        f"#支出合计：{spent}笔{_CRLF}#收入合计：{frame.height - spent}笔{_CRLF}"
        f"#导出时间：[2026年12月01日 09:00:00]{_CRLF}"
    )
    return _alipay_head("账务明细") + _csv(body, _CRLF) + foot


_MOVE_KINDS = {
    "outbound": ("CK", "销售出库"),
    "return": ("TH", "退货入库"),
    "transfer_out": ("DB", "调拨出库"),
    "transfer_in": ("DB", "调拨入库"),
    "purchase_in": ("CG", "采购入库"),
}


def _movement_frame(rng: np.random.Generator, o: _Orders, rows: int) -> pl.DataFrame:
    """`rows` warehouse lines: the orders' outbounds (two for a partial shipment) and
    returns, outbounds and returns of unknown orders, then transfers and purchases."""
    index = np.arange(len(o.case))
    out = _Rows()

    def lines(
        kind: str, order_id: np.ndarray, shop: np.ndarray, qty: np.ndarray, at: np.ndarray
    ) -> None:
        size = len(order_id)
        out.add(
            kind=np.full(size, kind),
            order_id=order_id,
            shop=shop,
            quantity=qty,
            at=at,
            sku=rng.integers(0, 5_000, size),
            warehouse=rng.integers(0, 2, size),
        )

    sent = index[o.ships > 0]
    two = o.ships[sent] == 2
    first = np.where(two, o.quantity[sent] // 2, o.quantity[sent])
    lines("outbound", o.order_id[sent], o.shop[sent], first, o.ship_at[sent])
    rest = sent[two]
    later = np.minimum(o.ship_at[rest] + DAY, _SPAN - 200)
    lines("outbound", o.order_id[rest], o.shop[rest], o.quantity[rest] - first[two], later)
    back = index[o.returns]
    lines("return", o.order_id[back], o.shop[back], o.quantity[back], o.back_at[back])
    for kind, share, offset in (("outbound", _GHOST_OUTBOUNDS, 5), ("return", _GHOST_RETURNS, 1)):
        size = max(1, round(len(o.case) * share))
        lines(
            kind,
            _GHOST_BASE + 7 * np.arange(size) + offset,
            rng.integers(0, len(_SHOPS), size),
            rng.integers(1, 3, size),
            rng.integers(0, _SPAN - 60, size),
        )
    left = rows - sum(len(part["kind"]) for part in out.parts)
    if left < 0:
        raise InputError(
            [Issue("movements", f"{rows} rows cannot hold the {rows - left} the orders make")]
        )
    purchases = left * 3 // 10
    moves = (left - purchases) // 2
    for kind, size in (
        ("purchase_in", purchases),
        ("transfer_out", moves),
        ("transfer_in", left - purchases - moves),
    ):
        lines(
            kind,
            np.zeros(size, dtype=np.int64),
            np.full(size, -1),
            rng.integers(10, 500, size),
            rng.integers(0, _SPAN - 60, size),
        )
    return out.frame().sort("at", maintain_order=True).with_row_index("seq", offset=1)


def _movement_text(frame: pl.DataFrame) -> str:
    kind, order = pl.col("kind"), pl.col("order_id")
    prefix = kind.replace_strict({k: v[0] for k, v in _MOVE_KINDS.items()}, return_dtype=pl.String)
    for_order = order > 0
    shop = pl.col("shop")
    cells = {
        "单据编号": pl.concat_str(prefix, pl.col("seq").cast(pl.String).str.zfill(10)),
        "单据类型": kind.replace_strict(
            {k: v[1] for k, v in _MOVE_KINDS.items()}, return_dtype=pl.String
        ),
        "业务时间": _time_text(pl.col("at")),
        "仓库编码": pl.when(pl.col("warehouse") == 0)
        .then(pl.lit("WH-SH"))
        .otherwise(pl.lit("WH-GZ")),
        "店铺编码": shop.replace_strict(
            dict(enumerate(_SHOP_CODES)), default=None, return_dtype=pl.String
        ),
        "平台订单号": pl.when(for_order).then(order.cast(pl.String)).otherwise(_BLANK),
        "商家编码": pl.concat_str(pl.lit("B1-"), pl.col("sku").cast(pl.String).str.zfill(5)),
        "数量": pl.col("quantity").cast(pl.String),
        "物流单号": pl.when(for_order)
        .then(pl.concat_str(pl.lit("SF"), (pl.col("seq") + 10**11).cast(pl.String)))
        .otherwise(_BLANK),
        "备注": _BLANK,
    }
    return _csv(frame.select(cells[name].alias(name) for name in MOVEMENT_COLUMNS))


CONTRACT = {
    "brand": "b1",
    "method": {"kind": "percent", "rate": "0.05"},
    "deductions": {"returns": True},
    "minimum_fee": "3000.00",
    "tolerances": {
        "amount": "0.01",
        "fee_rate": "0.006",
        "fee": "0.01",
        "pending_days": 1,
        # The third shop's bills come a day later than the others'.
        "pending_by_channel": {_SHOPS[2]: 2},
    },
    "order_map": {"prefixes": ["T200P"]},
}


def write_month(
    directory: Path,
    orders: int,
    seed: int = 7,
    payments: int | None = None,
    movements: int | None = None,
) -> Month:
    """Write the month's files into `directory` (created): `orders` orders, `payments`
    bill rows over both Alipay bills and `movements` warehouse lines (each default:
    `orders`). InputError when the counts cannot hold what the orders make."""
    payments = orders if payments is None else payments
    movements = orders if movements is None else movements
    if orders < 1:
        raise InputError([Issue("orders", f"{orders}: at least one order")])
    rng = np.random.default_rng(seed)
    o = _draw_orders(rng, orders)
    trade = _trade_frame(rng, o)
    if payments < trade.height:
        message = f"{payments} rows cannot hold the {trade.height} trade rows the orders make"
        raise InputError([Issue("payments", message)])
    account = _account_frame(rng, o, payments - trade.height)
    moves = _movement_frame(rng, o, movements)
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "orders": [_write(directory / "orders.csv", _orders_csv(o), "gbk")],
        "payments": [
            alipay_zip(
                directory / "alipay-trade.zip",
                "20880000000000000156_20261101-20261130_业务明细.csv",
                _trade_text(trade),
            ),
            _write(directory / "alipay-account.csv", _account_text(account), "gbk"),
        ],
        "movements": [_write(directory / "warehouse.csv", _movement_text(moves), "utf-8")],
    }
    contract = directory / "contract.yaml"
    contract.write_text(yaml.safe_dump(CONTRACT, allow_unicode=True, sort_keys=False), "utf-8")
    rows = {
        "orders.csv": orders,
        "alipay-trade.zip": trade.height,
        "alipay-account.csv": account.height,
        "warehouse.csv": moves.height,
    }
    totals = {"orders": orders, "payments": payments, "movements": movements}
    return Month(directory, contract, files, rows, totals)


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path
