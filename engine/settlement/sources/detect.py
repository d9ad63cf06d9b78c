"""Which settlement file is this? Decided by what it holds - the header row, the '#'
lines, the backticks - never by its name, which shops rename at will. A zip (Alipay's
delivery) is opened and its detail members read; its summary (汇总) member is skipped.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Literal, NamedTuple

import polars as pl

from engine.core.errors import InputError, Issue
from engine.settlement.records import Provider
from engine.settlement.sources import alipay_account, alipay_trade, movements, orders, wechat
from engine.settlement.sources.ordermap import OrderMap
from engine.settlement.sources.text import Doc, decode

__all__ = ["Kind", "Source", "read_settlement_bytes", "read_settlement_file"]

Kind = Literal["orders", "payments", "movements"]

EXPECTED = (
    "an Alipay trade bill (业务明细: header starting 支付宝交易号), an Alipay account bill "
    "(账务明细: 账务流水号...), a WeChat Pay trade bill (交易时间,...,微信订单号), a Taobao/Tmall "
    "order export (订单编号, 订单状态, 买家实际支付金额) or a warehouse in/out export (单据编号, "
    "单据类型, 商家编码, 数量), as CSV or an Alipay zip of them"
)


class Source(NamedTuple):
    kind: Kind
    provider: Provider | None
    frame: pl.DataFrame


def read_settlement_file(path: str | Path, order_map: OrderMap | None = None) -> Source:
    """The file at `path` read into its records frame (records.py schemas)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError([Issue(path.name, f"cannot read the file: {exc.strerror}")]) from None
    return read_settlement_bytes(data, path.name, order_map or OrderMap())


def read_settlement_bytes(data: bytes, name: str, order_map: OrderMap) -> Source:
    """As read_settlement_file, for content already in memory (an upload)."""
    if data[:4] == b"PK\x03\x04":
        return _read_zip(data, name, order_map)
    return _read_text(decode(data, name), name, order_map)


def _read_text(text: str, source: str, order_map: OrderMap) -> Source:
    doc = Doc(text)
    head = doc.header()
    if head is None:
        raise InputError([Issue(source, f"no table found: expected {EXPECTED}")], source)
    cells = set(head.names())
    first = head.line.split(",")[0].strip().strip('"`\ufeff')
    if first == "支付宝交易号" and cells.issuperset(alipay_trade.HEADER):
        frame = alipay_trade.read_alipay_trade(doc, head, source, order_map)
        return Source("payments", Provider.ALIPAY_TRADE, frame)
    if first == "账务流水号" and cells.issuperset(alipay_account.HEADER):
        frame = alipay_account.read_alipay_account(doc, head, source, order_map)
        return Source("payments", Provider.ALIPAY_ACCOUNT, frame)
    if first == "交易时间" and cells.issuperset(wechat.HEADER):
        frame = wechat.read_wechat(doc, head, source, order_map)
        return Source("payments", Provider.WECHAT, frame)
    if cells.issuperset(orders.HEADER):
        return Source("orders", None, orders.read_orders(doc, head, source))
    if cells.issuperset(movements.HEADER):
        return Source("movements", None, movements.read_movements(doc, head, source))
    shown = head.line[:120]
    raise InputError(
        [
            Issue(
                f"{source}:{head.line_index + 1}",
                f"unknown table (header {shown!r}): expected {EXPECTED}",
            )
        ],
        source,
    )


def _member_name(info: zipfile.ZipInfo) -> str:
    # zips made on Chinese Windows store GBK names without the UTF-8 flag, which Python
    # then reads as cp437: undo that to see the real name
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _read_zip(data: bytes, name: str, order_map: OrderMap) -> Source:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputError([Issue(name, f"a broken zip: {exc}")], name) from None
    read: list[Source] = []
    with archive:
        for info in archive.infolist():
            member = _member_name(info)
            if info.is_dir() or "汇总" in member or not member.lower().endswith(".csv"):
                continue
            source = f"{name}/{member}"
            read.append(_read_text(decode(archive.read(info), source), source, order_map))
    if not read:
        raise InputError([Issue(name, f"no detail CSV in the zip: expected {EXPECTED}")], name)
    kinds = {(one.kind, one.provider) for one in read}
    if len(kinds) > 1:
        raise InputError([Issue(name, "the zip mixes different kinds of file")], name)
    return Source(read[0].kind, read[0].provider, pl.concat([one.frame for one in read]))
