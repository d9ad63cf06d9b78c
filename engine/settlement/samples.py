"""Writers of sample settlement files in the real formats' shapes, for tests and the
benchmark and the demo. The people, shops and numbers are made up.

Each writer takes rows as dicts of the columns a test cares about; every other column
gets a plausible filler, so a test says only what it is about.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

Row = Mapping[str, str]

ALIPAY_TRADE_COLUMNS = [
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号",
    "门店名称", "操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）",
    "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）",
    "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号", "服务费（元）",
    "分润（元）", "备注",
]  # fmt: skip
ALIPAY_ACCOUNT_COLUMNS = [
    "账务流水号", "业务流水号", "商户订单号", "商品名称", "发生时间", "对方账号",
    "收入金额（+元）", "支出金额（-元）", "账户余额（元）", "交易渠道", "业务类型", "备注",
]  # fmt: skip
ALIPAY_ACCOUNT_EXTRA = ["业务描述", "业务账单来源", "业务基础订单号", "业务订单号"]
WECHAT_COLUMNS = [
    "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号",
    "用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额",
    "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态",
    "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
]  # fmt: skip
WECHAT_SUMMARY = [
    "总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额",
    "订单总金额", "申请退款总金额",
]  # fmt: skip
ORDER_COLUMNS = [
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分",
    "总金额", "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言",
    "收货人姓名", "收货地址", "运送方式", "联系电话", "联系手机", "订单创建时间", "订单付款时间",
    "宝贝标题", "宝贝种类", "物流单号", "物流公司", "订单备注", "宝贝总数量", "店铺Id",
    "店铺名称", "订单关闭原因",
]  # fmt: skip
ORDER_EXTRA = [
    "卖家服务费", "买家服务费", "发票抬头", "是否手机订单", "分阶段订单信息", "定金排名",
    "修改后的sku", "修改后的收货地址", "异常信息",
]  # fmt: skip
MOVEMENT_COLUMNS = [
    "单据编号", "单据类型", "业务时间", "仓库编码", "店铺编码", "平台订单号", "商家编码", "数量",
    "物流单号", "备注",
]  # fmt: skip

# Fillers: made-up but shaped like the real thing.
_FILL = {
    "商品名称": "示例商品",
    "对方账户": "buyer***@example.com",
    "对方账号": "buyer***@example.com",
    "买家会员名": "测试买家",
    "收货人姓名": "张三",
    "收货地址": "浙江省 杭州市 西湖区 示例路1号",
    "运送方式": "快递",
    "宝贝标题": "示例商品",
    "宝贝种类": "1",
    "店铺Id": "S001",
    "店铺名称": "示例旗舰店",
    "公众账号ID": "wx0000000000000000",
    "商户号": "1900000000",
    "交易类型": "JSAPI",
    "交易状态": "SUCCESS",
    "货币种类": "CNY",
    "费率": "0.60%",
    "仓库编码": "WH01",
    "店铺编码": "S001",
}


def _cells(columns: list[str], row: Row) -> list[str]:
    return [row.get(name, _FILL.get(name, "")) for name in columns]


def _csv(rows: Iterable[list[str]]) -> str:
    # Quoted only where a cell needs it (a comma, a quote), as the platforms' exports do.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _tab_ids(columns: list[str], rows: Iterable[Row], ids: set[str]) -> list[list[str]]:
    """Rows as cells, each id followed by the tab Alipay writes to keep Excel off it."""
    return [
        [cell + "\t" if name in ids and cell else cell
         for name, cell in zip(columns, _cells(columns, row), strict=True)]
        for row in rows
    ]  # fmt: skip


def alipay_trade_text(rows: Iterable[Row], *, footer: bool = True) -> str:
    """A 业务明细 CSV: '#' preamble, header, rows with tab-kept ids, '#' footer."""
    ids = {"支付宝交易号", "商户订单号", "退款批次号/请求号"}
    body = _tab_ids(ALIPAY_TRADE_COLUMNS, rows, ids)
    head = (
        "#支付宝业务明细查询\n#账号：[20880000000000000156]\n"
        "#起始日期：[2026年11月01日 00:00:00]   终止日期：[2026年11月02日 00:00:00]\n"
        "#-----------------------------------------业务明细列表----------------------------------------\n"
    )
    text = head + _csv([ALIPAY_TRADE_COLUMNS, *body])
    if footer:
        text += (
            "#-----------------------------------------业务明细列表结束------------------------------------\n"
            "#交易合计：0笔，商家实收共0.00元，商家优惠共0.00元\n#退款合计：0笔\n"
            "#导出时间：[2026年11月02日 09:00:00]\n"
        )
    return text


def alipay_account_text(rows: Iterable[Row], *, wide: bool = False, footer: bool = True) -> str:
    """A 账务明细 CSV, 12 columns or (wide) the 16-column form."""
    columns = ALIPAY_ACCOUNT_COLUMNS + (ALIPAY_ACCOUNT_EXTRA if wide else [])
    ids = {"账务流水号", "业务流水号", "商户订单号"}
    body = _tab_ids(columns, rows, ids)
    head = (
        "#支付宝账务明细查询\n#账号：[20880000000000000156]\n"
        "#起始日期：[2026年11月01日 00:00:00]   终止日期：[2026年11月02日 00:00:00]\n"
        "#-----------------------------------------账务明细列表----------------------------------------\n"
    )
    text = head + _csv([columns, *body])
    if footer:
        text += (
            "#-----------------------------------------账务明细列表结束------------------------------------\n"
            "#支出合计：0笔，共0.00元\n#收入合计：0笔，共0.00元\n"
            "#导出时间：[2026年11月02日 09:00:00]\n"
        )
    return text


def alipay_zip(path: Path, detail_name: str, detail_text: str) -> Path:
    """Alipay's delivery: the GBK detail CSV beside a 汇总 summary, names stored as GBK."""
    names = [detail_name, detail_name.replace(".csv", "(汇总).csv")]
    texts = [detail_text, "#汇总\n类型,笔数\n交易,0\n"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, (name, text) in enumerate(zip(names, texts, strict=True)):
            # A fixed time stamp: the same rows give the same bytes (the demo is committed).
            member = zipfile.ZipInfo(_placeholder(name, index), date_time=(2026, 11, 2, 9, 0, 0))
            archive.writestr(member, text.encode("gbk"))
    data = buffer.getvalue()
    # zipfile writes non-ASCII names as flagged UTF-8; Windows tools write raw GBK bytes
    # with no flag. Same-length ASCII stand-ins, swapped for the GBK bytes, give the latter.
    for index, name in enumerate(names):
        data = data.replace(_placeholder(name, index).encode(), name.encode("gbk"))
    path.write_bytes(data)
    return path


def _placeholder(name: str, index: int) -> str:
    return f"{index}".ljust(len(name.encode("gbk")), "~")


def wechat_text(rows: Iterable[Row], *, summary: bool = True) -> str:
    """A WeChat Pay trade bill: plain header, "`" before every value, summary at the end."""
    body = [",`".join(_cells(WECHAT_COLUMNS, row)) for row in rows]
    text = ",".join(WECHAT_COLUMNS) + "\n" + "".join("`" + line + "\n" for line in body)
    if summary:
        text += ",".join(WECHAT_SUMMARY) + "\n" + ",".join("`0" for _ in WECHAT_SUMMARY) + "\n"
    return text


def orders_text(rows: Iterable[Row], *, wide: bool = False) -> str:
    """A Taobao/Tmall order export, 28 columns or (wide) 37."""
    columns = ORDER_COLUMNS + (ORDER_EXTRA if wide else [])
    return _csv([columns, *(_cells(columns, row) for row in rows)])


def movements_text(rows: Iterable[Row]) -> str:
    """A warehouse in/out export, one row per document line."""
    return _csv([MOVEMENT_COLUMNS, *(_cells(MOVEMENT_COLUMNS, row) for row in rows)])


def write(path: Path, text: str, encoding: str) -> Path:
    """`text` saved as `encoding` ("gbk", "utf-8" or "utf-8-sig" for a BOM)."""
    path.write_bytes(text.encode(encoding))
    return path


def bulk_orders(count: int) -> list[dict[str, str]]:
    """`count` paid orders with distinct ids (for the benchmark)."""
    return [
        {
            "订单编号": str(4000000000000000 + i),
            "买家实际支付金额": f"{i % 1000}.{i % 100:02d}",
            "订单状态": "买家已付款，等待卖家发货",
            "订单创建时间": f"2026-11-01 {i % 24:02d}:{i % 60:02d}:{i % 59:02d}",
            "订单付款时间": f"2026-11-01 {i % 24:02d}:{i % 60:02d}:{i % 59 + 1:02d}",
            "宝贝总数量": str(i % 5 + 1),
        }
        for i in range(count)
    ]


def bulk_trades(count: int) -> list[dict[str, str]]:
    """`count` Alipay trade rows for the orders of bulk_orders (for the benchmark)."""
    return [
        {
            "支付宝交易号": f"2026110122001{i:012d}",
            "商户订单号": f"T200P{4000000000000000 + i}",
            "业务类型": "交易",
            "完成时间": f"2026-11-01 {i % 24:02d}:{i % 60:02d}:{i % 59 + 1:02d}",
            "订单金额（元）": f"{i % 1000}.{i % 100:02d}",
            "服务费（元）": f"-{i % 7}.{i % 10}0",
        }
        for i in range(count)
    ]
