"""Readers of the files a settlement starts from: Alipay trade and account bills, WeChat
Pay trade bills, Taobao/Tmall order exports and warehouse in/out exports, each into its
records frame (engine/settlement/records.py). One module per format; detect.py tells
them apart by content; text.py holds what they share (encodings, amounts, times)."""

from engine.settlement.sources.detect import Source, read_settlement_bytes, read_settlement_file
from engine.settlement.sources.ordermap import OrderMap

__all__ = ["OrderMap", "Source", "read_settlement_bytes", "read_settlement_file"]
