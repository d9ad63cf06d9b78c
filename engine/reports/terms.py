"""The words a report shows for the fixed keys its tables hold (a column of kind
`term`): price-guard statuses and settlement outcomes. The tables keep the keys - what
the JSON of a report and the APIs say - and each format shows the words of its language.
A key missing here is shown as it is (a new outcome still shows, untranslated)."""

from __future__ import annotations

from engine.reports.model import Text

TERMS: dict[str, Text] = {
    # The price guard's statuses (engine/catalog/prices/guard.py).
    "ok": Text("ok", "正常"),
    "breach": Text("breach", "破价"),
    "may_breach": Text("may breach", "可能破价"),
    "unguarded": Text("unguarded", "未守护"),
    # Settlement outcomes (engine/settlement/records.py Outcome).
    "matched": Text("matched", "已匹配"),
    "missing_payment": Text("missing payment", "缺少付款"),
    "missing_order": Text("missing order", "缺少订单"),
    "amount_short": Text("amount short", "金额不足"),
    "amount_over": Text("amount over", "金额超出"),
    "not_shipped": Text("not shipped", "未发货"),
    "shipped_unpaid": Text("shipped, unpaid", "已发货未付款"),
    "status_mismatch": Text("status mismatch", "状态不一致"),
    "refund_unreturned": Text("refund, goods not back", "已退款未退货"),
    "fee_mismatch": Text("fee mismatch", "费率不符"),
    "duplicate": Text("duplicate", "重复记录"),
    "pending": Text("pending", "待下期核对"),
    "not_for_orders": Text("for no order", "非订单记录"),
}


def term(key: str, lang: str) -> str:
    """The words for `key` in `lang` (the key itself when it has none)."""
    words = TERMS.get(key)
    return key if words is None else words(lang)
