"""Settlement file readers: each format written in its real shape (tests/settlement/
files.py) and read back to exact frames; detection by content; every bad cell named."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.core.errors import InputError
from engine.settlement import samples as files
from engine.settlement.records import (
    MOVEMENT_SCHEMA,
    ORDER_SCHEMA,
    PAYMENT_SCHEMA,
    Provider,
)
from engine.settlement.sources import OrderMap, read_settlement_file

T = datetime.fromisoformat


def _paths(error: InputError) -> list[str]:
    return [issue.path for issue in error.issues]


# ---------------------------------------------------------------- orders


ORDERS = [
    {
        "订单编号": "3300000000000001",
        "订单状态": "交易成功",
        "买家实际支付金额": "399.00",
        "订单创建时间": "2026-11-01 09:00:00",
        "订单付款时间": "2026-11-01 09:01:30",
        "宝贝总数量": "2",
    },
    {
        "订单编号": "3300000000000002",
        "订单状态": "等待买家付款",
        "买家实际支付金额": "0.5",
        "订单创建时间": "2026-11-01 23:59:59",
        "宝贝总数量": "1",
    },
    {
        "订单编号": "3300000000000003",
        "订单状态": "交易关闭",
        "买家实际支付金额": "12",
        "订单创建时间": "2026-11-01 10:00:00",
        "订单付款时间": "2026-11-01 10:00:05",
        "宝贝总数量": "1",
        "订单关闭原因": "买家申请退款",
    },
]


def _orders_expected(source: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": ["3300000000000001", "3300000000000002", "3300000000000003"],
            "shop": ["示例旗舰店"] * 3,
            "status": ["completed", "unpaid", "closed"],
            "amount": [39900, 50, 1200],
            "created_at": [
                T("2026-11-01 09:00:00"),
                T("2026-11-01 23:59:59"),
                T("2026-11-01 10:00:00"),
            ],
            "paid_at": [T("2026-11-01 09:01:30"), None, T("2026-11-01 10:00:05")],
            "close_reason": [None, None, "买家申请退款"],
            "quantity": [2, 1, 1],
            "source": [source] * 3,
            "line": [2, 3, 4],
        },
        schema=ORDER_SCHEMA,
    )


@pytest.mark.parametrize(
    ("wide", "encoding"), [(False, "gbk"), (True, "utf-8"), (True, "utf-8-sig"), (False, "gb18030")]
)
def test_orders_both_forms_and_encodings(tmp_path: Path, wide: bool, encoding: str) -> None:
    path = files.write(tmp_path / "export.csv", files.orders_text(ORDERS, wide=wide), encoding)
    source = read_settlement_file(path)
    assert (source.kind, source.provider) == ("orders", None)
    assert_frame_equal(source.frame, _orders_expected("export.csv"))


def test_ids_kept_as_excel_text_and_stray_whitespace_are_read_as_the_id(tmp_path: Path) -> None:
    rows = [
        {**ORDERS[0], "订单编号": '="3300000000000001"'},
        {**ORDERS[1], "订单编号": " 3300000000000002\t"},
        ORDERS[2],
    ]
    path = files.write(tmp_path / "export.csv", files.orders_text(rows), "gbk")
    assert_frame_equal(read_settlement_file(path).frame, _orders_expected("export.csv"))


def test_every_order_status_is_mapped(tmp_path: Path) -> None:
    words = [
        "等待买家付款",
        "买家已付款，等待卖家发货",
        "卖家已发货，等待买家确认",
        "交易成功",
        "交易关闭",
    ]
    rows = [{**ORDERS[0], "订单状态": word} for word in words]
    frame = read_settlement_file(
        files.write(tmp_path / "o.csv", files.orders_text(rows), "gbk")
    ).frame
    assert frame["status"].to_list() == ["unpaid", "paid", "shipped", "completed", "closed"]


def test_bad_order_cells_are_all_named(tmp_path: Path) -> None:
    rows = [
        {**ORDERS[0], "买家实际支付金额": "1,234.50"},
        {**ORDERS[0], "买家实际支付金额": "¥12"},
        {**ORDERS[0], "买家实际支付金额": "12.345"},
        {**ORDERS[0], "订单付款时间": "2026/11/01 09:00"},
        {**ORDERS[0], "订单创建时间": "2026-13-01 09:00:00"},
        {**ORDERS[0], "订单状态": "已发货"},
        {**ORDERS[0], "宝贝总数量": "1.5"},
        {**ORDERS[0], "买家实际支付金额": ""},
    ]
    path = files.write(tmp_path / "orders.csv", files.orders_text(rows), "utf-8")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    assert _paths(caught.value) == [
        "orders.csv:2:买家实际支付金额",
        "orders.csv:3:买家实际支付金额",
        "orders.csv:4:买家实际支付金额",
        "orders.csv:5:订单付款时间",
        "orders.csv:6:订单创建时间",
        "orders.csv:7:订单状态",
        "orders.csv:8:宝贝总数量",
        "orders.csv:9:买家实际支付金额",
    ]
    assert "'1,234.50'" in str(caught.value) and "blank" in str(caught.value)


def test_errors_stop_at_fifty(tmp_path: Path) -> None:
    rows = [{**ORDERS[0], "买家实际支付金额": "x"}] * 80
    path = files.write(tmp_path / "orders.csv", files.orders_text(rows), "utf-8")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    assert len(caught.value.issues) == 50


# ---------------------------------------------------------------- movements

MOVES = [
    {
        "单据编号": "CK001",
        "单据类型": "销售出库",
        "业务时间": "2026-11-01 15:00:00",
        "平台订单号": "3300000000000001",
        "商家编码": "SKU-A",
        "数量": "2",
        "物流单号": "YT0001",
    },
    {
        "单据编号": "RK001",
        "单据类型": "采购入库",
        "业务时间": "2026-11-02 08:00:00",
        "商家编码": "SKU-B",
        "数量": "40",
    },
]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_movements(tmp_path: Path, encoding: str) -> None:
    path = files.write(tmp_path / "wms.csv", files.movements_text(MOVES), encoding)
    source = read_settlement_file(path)
    expected = pl.DataFrame(
        {
            "doc_no": ["CK001", "RK001"],
            "kind": ["outbound", "purchase_in"],
            "at": [T("2026-11-01 15:00:00"), T("2026-11-02 08:00:00")],
            "warehouse": ["WH01", "WH01"],
            "shop": ["S001", "S001"],
            "order_id": ["3300000000000001", None],
            "sku": ["SKU-A", "SKU-B"],
            "quantity": [2, 40],
            "logistics_no": ["YT0001", None],
            "source": ["wms.csv"] * 2,
            "line": [2, 3],
        },
        schema=MOVEMENT_SCHEMA,
    )
    assert source.kind == "movements"
    assert_frame_equal(source.frame, expected)


def test_movement_quantity_must_be_positive_whole(tmp_path: Path) -> None:
    rows = [{**MOVES[0], "数量": q} for q in ("0", "-1", "2.0", "")] + [
        {**MOVES[0], "单据类型": "盘点"}
    ]
    path = files.write(tmp_path / "wms.csv", files.movements_text(rows), "utf-8")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    assert _paths(caught.value) == [f"wms.csv:{n}:数量" for n in (2, 3, 4, 5)] + [
        "wms.csv:6:单据类型"
    ]


# ---------------------------------------------------------------- Alipay trade bill

TRADES = [
    {
        "支付宝交易号": "2026110122001400001",
        "商户订单号": "T200P3300000000000001",
        "业务类型": "交易",
        "完成时间": "2026-11-01 09:01:30",
        "订单金额（元）": "399.00",
        "服务费（元）": "-2.39",
    },
    {
        "支付宝交易号": "2026110122001400001",
        "商户订单号": "T200P3300000000000001",
        "业务类型": "退款",
        "完成时间": "2026-11-01 20:00:00",
        "订单金额（元）": "-100.00",
        "退款批次号/请求号": "RB001",
        "备注": "部分退款",
    },
]

TRADE_FRAME = {
    "provider": ["alipay_trade"] * 2,
    "record_id": ["2026110122001400001", "2026110122001400001:RB001"],
    "merchant_order_no": ["T200P3300000000000001"] * 2,
    "order_id": ["3300000000000001"] * 2,
    "order_ids": [[], []],
    "kind": ["payment", "refund"],
    "amount": [39900, -10000],
    "fee": [239, 0],
    "at": [T("2026-11-01 09:01:30"), T("2026-11-01 20:00:00")],
    "note": ["示例商品", "部分退款"],
    "line": [6, 7],  # four '#' lines and the header come first
}


def test_alipay_trade_zip(tmp_path: Path) -> None:
    path = files.alipay_zip(
        tmp_path / "20880000_20261101.zip",
        "20880000_20261101_业务明细.csv",
        files.alipay_trade_text(TRADES),
    )
    source = read_settlement_file(path)
    member = "20880000_20261101.zip/20880000_20261101_业务明细.csv"
    expected = pl.DataFrame({**TRADE_FRAME, "source": [member] * 2}, schema=PAYMENT_SCHEMA)
    assert (source.kind, source.provider) == ("payments", Provider.ALIPAY_TRADE)
    assert_frame_equal(source.frame, expected.select(PAYMENT_SCHEMA.keys()))


def test_alipay_trade_combined_payment_names_every_order(tmp_path: Path) -> None:
    row = {
        "支付宝交易号": "2026110122001400009",
        "商户订单号": "T200P3300000000000001",
        "业务类型": "交易",
        "完成时间": "2026-11-01 09:01:30",
        "订单金额（元）": "120.00",
        "备注": "合并付款{T200P3300000000000001， 3300000000000002,T200PX}",
    }
    path = files.write(tmp_path / "trade.csv", files.alipay_trade_text([row, TRADES[0]]), "gbk")
    frame = read_settlement_file(path).frame
    assert frame.get_column("order_ids").to_list() == [
        ["3300000000000001", "3300000000000002", "T200PX"],  # an id no prefix maps stays
        [],
    ]
    assert frame.get_column("order_id").to_list() == [None, "3300000000000001"]


def test_alipay_trade_unzipped_keeps_no_tabs(tmp_path: Path) -> None:
    text = files.alipay_trade_text(TRADES)
    assert "2026110122001400001\t," in text  # the ids really carry the tab
    source = read_settlement_file(files.write(tmp_path / "trade.csv", text, "gbk"))
    expected = pl.DataFrame({**TRADE_FRAME, "source": ["trade.csv"] * 2}, schema=PAYMENT_SCHEMA)
    assert_frame_equal(source.frame, expected.select(PAYMENT_SCHEMA.keys()))


def test_alipay_trade_without_footer_is_truncated(tmp_path: Path) -> None:
    text = files.alipay_trade_text(TRADES, footer=False)
    with pytest.raises(InputError) as caught:
        read_settlement_file(files.write(tmp_path / "trade.csv", text, "gbk"))
    assert _paths(caught.value) == ["trade.csv"]
    assert "truncated" in str(caught.value) and "列表结束" in str(caught.value)


def test_alipay_trade_bad_cells(tmp_path: Path) -> None:
    rows = [
        {**TRADES[0], "完成时间": "2026-11-01T09:01:30"},
        {**TRADES[0], "服务费（元）": "0.001"},
        {**TRADES[0], "业务类型": "转账"},
    ]
    path = files.write(tmp_path / "trade.csv", files.alipay_trade_text(rows), "gbk")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    assert _paths(caught.value) == [
        "trade.csv:6:完成时间",
        "trade.csv:7:服务费（元）",
        "trade.csv:8:业务类型",
    ]


# ---------------------------------------------------------------- Alipay account bill

ACCOUNT = [
    {"账务流水号": "A01", "商户订单号": "T200P3300000000000001", "发生时间": "2026-11-01 09:01:30",
     "收入金额（+元）": "399.00", "业务类型": "交易"},
    {"账务流水号": "A02", "商户订单号": "T200P3300000000000001", "发生时间": "2026-11-01 09:01:31",
     "支出金额（-元）": "-2.39", "业务类型": "收费", "备注": "信用卡支付服务费"},
    {"账务流水号": "A03", "发生时间": "2026-11-01 12:00:00", "支出金额（-元）": "-20.00",
     "业务类型": "交易", "备注": "售后退款{3300000000000004}"},
    {"账务流水号": "A04", "发生时间": "2026-11-01 12:30:00", "支出金额（-元）": "1.50",
     "业务类型": "其他", "备注": "淘宝客佣金代扣款[T10000P3300000000000005]"},
    {"账务流水号": "A05", "发生时间": "2026-11-01 13:00:00", "支出金额（-元）": "-0.30",
     "业务类型": "收费", "备注": "技术服务费【3300000000000006】"},
    {"账务流水号": "A06", "商户订单号": "TX9", "发生时间": "2026-11-01 14:00:00",
     "收入金额（+元）": "500.00", "业务类型": "转账", "备注": "转账"},
]  # fmt: skip


@pytest.mark.parametrize("wide", [False, True])
def test_alipay_account_kinds_and_orders(tmp_path: Path, wide: bool) -> None:
    path = files.write(
        tmp_path / "account.csv", files.alipay_account_text(ACCOUNT, wide=wide), "gbk"
    )
    source = read_settlement_file(path)
    frame = source.frame
    assert source.provider == Provider.ALIPAY_ACCOUNT
    assert frame.schema == pl.Schema(PAYMENT_SCHEMA)
    assert frame["record_id"].to_list() == ["A01", "A02", "A03", "A04", "A05", "A06"]
    assert frame["kind"].to_list() == ["payment", "fee", "refund", "commission", "fee", "other"]
    assert frame["amount"].to_list() == [39900, -239, -2000, -150, -30, 50000]
    assert frame["order_id"].to_list() == [
        "3300000000000001",
        "3300000000000001",
        "3300000000000004",
        "3300000000000005",
        "3300000000000006",
        None,
    ]
    assert frame["fee"].to_list() == [0] * 6
    assert frame["line"].to_list() == [6, 7, 8, 9, 10, 11]
    assert frame["at"][0] == T("2026-11-01 09:01:30")


def test_alipay_account_zip_and_truncation(tmp_path: Path) -> None:
    path = files.alipay_zip(
        tmp_path / "b.zip", "2088_账务明细.csv", files.alipay_account_text(ACCOUNT)
    )
    assert read_settlement_file(path).frame.height == len(ACCOUNT)
    cut = files.write(tmp_path / "a.csv", files.alipay_account_text(ACCOUNT, footer=False), "gbk")
    with pytest.raises(InputError) as caught:
        read_settlement_file(cut)
    assert _paths(caught.value) == ["a.csv"]


# ---------------------------------------------------------------- WeChat Pay

WECHAT = [
    {"交易时间": "2026-11-01 10:00:00", "微信订单号": "4200000001",
     "商户订单号": "T200P3300000000000007", "订单金额": "88.00", "应结订单金额": "80.00",
     "手续费": "0.48"},
    {"交易时间": "2026-11-01 11:00:00", "微信订单号": "4200000001",
     "商户订单号": "T200P3300000000000007", "交易状态": "REFUND", "订单金额": "0.00",
     "退款金额": "30.00", "商户退款单号": "RF-1", "手续费": "-0.18"},
    {"交易时间": "2026-11-01 12:00:00", "微信订单号": "4200000002", "商户订单号": "X-77",
     "订单金额": "1.00", "手续费": "0.01"},
]  # fmt: skip


def test_wechat_bill(tmp_path: Path) -> None:
    path = files.write(tmp_path / "wx.csv", files.wechat_text(WECHAT), "utf-8")
    source = read_settlement_file(path)
    expected = pl.DataFrame(
        {
            "provider": ["wechat"] * 3,
            "record_id": ["4200000001", "4200000001:RF-1", "4200000002"],
            "merchant_order_no": ["T200P3300000000000007", "T200P3300000000000007", "X-77"],
            "order_id": ["3300000000000007", "3300000000000007", None],
            "order_ids": [[], [], []],
            "kind": ["payment", "refund", "payment"],
            "amount": [8800, -3000, 100],
            "fee": [48, 18, 1],
            "at": [T("2026-11-01 10:00:00"), T("2026-11-01 11:00:00"), T("2026-11-01 12:00:00")],
            "note": ["示例商品"] * 3,
            "source": ["wx.csv"] * 3,
            "line": [2, 3, 4],
        },
        schema=PAYMENT_SCHEMA,
    )
    assert source.provider == Provider.WECHAT
    assert_frame_equal(source.frame, expected)


def test_wechat_without_summary_is_truncated(tmp_path: Path) -> None:
    path = files.write(tmp_path / "wx.csv", files.wechat_text(WECHAT, summary=False), "utf-8")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    assert _paths(caught.value) == ["wx.csv"] and "总交易单数" in str(caught.value)


def test_wechat_bad_cells(tmp_path: Path) -> None:
    rows = [{**WECHAT[0], "订单金额": "88.000"}, {**WECHAT[0], "交易时间": "2026-11-01"}]
    path = files.write(tmp_path / "wx.csv", files.wechat_text(rows), "utf-8")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    assert _paths(caught.value) == ["wx.csv:2:订单金额", "wx.csv:3:交易时间"]


# ---------------------------------------------------------------- detection


def test_detection_ignores_misleading_names(tmp_path: Path) -> None:
    cases = [
        ("支付宝账务明细.csv", files.orders_text(ORDERS), "gbk", "orders", None),
        ("orders.csv", files.wechat_text(WECHAT), "utf-8", "payments", Provider.WECHAT),
        ("wechat.csv", files.alipay_trade_text(TRADES), "gbk", "payments", Provider.ALIPAY_TRADE),
        (
            "出库单.zip",
            files.alipay_account_text(ACCOUNT),
            "gbk",
            "payments",
            Provider.ALIPAY_ACCOUNT,
        ),
        ("业务明细.csv", files.movements_text(MOVES), "utf-8", "movements", None),
    ]
    for name, text, encoding, kind, provider in cases:
        source = read_settlement_file(files.write(tmp_path / name, text, encoding))
        assert (source.kind, source.provider) == (kind, provider), name


def test_unknown_file_lists_what_was_expected(tmp_path: Path) -> None:
    path = files.write(tmp_path / "bill.csv", "日期,金额\n2026-11-01,3.00\n", "utf-8")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    message = str(caught.value)
    assert caught.value.source == "bill.csv"
    for expected in ("支付宝交易号", "账务流水号", "微信订单号", "订单编号", "单据编号"):
        assert expected in message


def test_undecodable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "blob.csv"
    path.write_bytes("订单编号".encode("gbk") + b"\x81\x30\xff")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    assert _paths(caught.value) == ["blob.csv"]


def test_zip_without_detail_member(tmp_path: Path) -> None:
    path = files.alipay_zip(tmp_path / "x.zip", "说明.txt", "nothing")
    with pytest.raises(InputError) as caught:
        read_settlement_file(path)
    assert _paths(caught.value) == ["x.zip"]


# ---------------------------------------------------------------- order map


def test_order_map_prefixes() -> None:
    numbers = pl.Series(["T200P123", "T10000P456", "789", "TX9", "T200P", None, "P1T200P3"])
    mapped = pl.select(OrderMap().order_id(pl.lit(numbers))).to_series().to_list()
    assert mapped == ["123", "456", "789", None, None, None, None]
    custom = OrderMap(patterns=(r"^JD-(\d+)$",))
    assert pl.select(
        custom.order_id(pl.lit(pl.Series(["JD-5", "T200P1"])))
    ).to_series().to_list() == [
        "5",
        None,
    ]
    notes = pl.Series(["退款{T200P11}", "佣金[22]", "服务费【33】", "无订单"])
    assert pl.select(OrderMap().from_note(pl.lit(notes))).to_series().to_list() == [
        "11",
        "22",
        "33",
        None,
    ]
    with pytest.raises(ValueError, match="group"):
        OrderMap(patterns=(r"^T\d+$",))


def test_custom_order_map_reaches_the_reader(tmp_path: Path) -> None:
    rows = [{**WECHAT[2], "商户订单号": "X-77"}]
    path = files.write(tmp_path / "wx.csv", files.wechat_text(rows), "utf-8")
    frame = read_settlement_file(path, OrderMap(patterns=(r"^X-(\d+)$",))).frame
    assert frame["order_id"].to_list() == ["77"]
