"""What each platform's listing calls look like: field names of the catalog payload, the
methods, the status words, the error catalogue and the call limits.

Both sides of the wire read these tables: the adapters, to speak to a platform, and the
sandbox marketplace (engine/listing/sandbox/), to play one. The payload field names are
those of the catalog's platform files (engine/catalog/platforms/*/*.json); a platform's
error codes are given here once, each with the kind of error it is (ErrorCode), so the
classification is data and a test can hold every code to it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.listing.marketplace import ErrorCode, Quota, Status

__all__ = [
    "CATALOGUES",
    "DEFAULT_LIMITS",
    "PLATFORMS",
    "SHAPES",
    "Shape",
    "WireError",
    "classify",
    "decode_form",
    "encode_form",
    "limit_for",
    "response_key",
    "retry_seconds",
    "say_seconds",
    "wire_error",
]

PLATFORMS = ("taobao", "tmall", "jd", "pdd", "douyin")


@dataclass(frozen=True)
class Shape:
    """One platform's payload fields and calls."""

    platform: str
    family: str  # the wire: top, jd, pdd, douyin
    category: str  # the payload field holding the platform category id
    outer_id: str
    title: str
    brand: tuple[str, ...]  # the path of the brand in the payload
    skus: str  # the payload's SKU list
    sku_code: str  # our SKU code inside one SKU element
    sku_price: tuple[str, ...]  # the fields a price update sets
    sku_stock: str
    fen: bool  # prices in fen (integer) rather than yuan (decimal text)
    item_price: str | None  # an item-level price: the lowest SKU price
    item_stock: str | None  # an item-level stock: the sum over SKUs
    # Methods: create, full update, stock, price, delist, read one, read pages.
    add: str
    update: str
    stock: str
    price: str
    delist: str
    get: str
    pages: tuple[str, ...]
    item_id: str  # the parameter naming the platform's item id
    # Parameter names of the calls: stock.sku, stock.qty, price.sku, price.value (one
    # SKU per call; absent where the call takes every SKU at once), get.outer, page,
    # page_size.
    params: Mapping[str, str]
    # The two status fields of a read item, and their values for each of our states.
    status_fields: tuple[str, str]
    status_words: Mapping[Status, tuple[Any, Any]]
    reason_field: str


_TOP_STATUS = {
    Status.ACCEPTED: ("instock", "WAIT_AUDIT"),
    Status.IN_REVIEW: ("instock", "AUDITING"),
    Status.ON_SALE: ("onsale", "AUDIT_PASS"),
    Status.REJECTED: ("instock", "AUDIT_REJECT"),
    Status.DELISTED: ("instock", "AUDIT_PASS"),
}


def _top(platform: str, add: str, update: str, item_stock: str) -> Shape:
    return Shape(
        platform=platform,
        family="top",
        category="cid",
        outer_id="outer_id",
        title="title",
        brand=("props", "品牌"),
        skus="skus",
        sku_code="outer_id",
        sku_price=("price",),
        sku_stock="quantity",
        fen=False,
        item_price="price",
        item_stock=item_stock,
        add=add,
        update=update,
        stock="taobao.skus.quantity.update",
        price="taobao.item.sku.price.update",
        delist="taobao.item.update.delisting",
        get="taobao.items.custom.get",
        # Items still in review (the inventory) first: review moves an item from there
        # to on sale while a shop is read, and read in this order it is seen at least once.
        pages=("taobao.items.inventory.get", "taobao.items.onsale.get"),
        item_id="num_iid",
        # Stock goes in one call ("outerid_quantities": "A:5;B:7"); price one SKU a call.
        params={
            "price.sku": "outer_id",
            "price.value": "price",
            "get.outer": "outer_id",
            "page": "page_no",
            "page_size": "page_size",
        },
        status_fields=("approve_status", "audit_status"),
        status_words=_TOP_STATUS,
        reason_field="audit_reason",
    )


SHAPES: dict[str, Shape] = {
    "taobao": _top("taobao", "taobao.item.add", "taobao.item.update", "num"),
    "tmall": _top("tmall", "tmall.item.schema.add", "tmall.item.schema.update", "quantity"),
    "jd": Shape(
        platform="jd",
        family="jd",
        category="categoryId",
        outer_id="outerId",
        title="title",
        brand=("brandName",),
        skus="skus",
        sku_code="outerId",
        sku_price=("jdPrice",),
        sku_stock="stockNum",
        fen=False,
        item_price="jdPrice",
        item_stock="stockNum",
        add="jingdong.ware.write.add",
        update="jingdong.ware.write.update",
        stock="jingdong.stock.write.updateSkuStock",
        price="jingdong.price.write.updateSkuJdPrice",
        delist="jingdong.ware.write.offShelf",
        get="jingdong.ware.read.searchWare4Valid",
        pages=("jingdong.ware.read.searchWare4Valid",),
        item_id="wareId",
        params={
            "stock.sku": "outerId",
            "stock.qty": "stockNum",
            "price.sku": "outerId",
            "price.value": "jdPrice",
            "get.outer": "outerId",
            "page": "pageNo",
            "page_size": "pageSize",
        },
        # wareStatus 1 never on shelf, 2 taken off, 8 on shelf; auditStatus 0 waiting,
        # 1 auditing, 2 passed, 3 rejected.
        status_fields=("wareStatus", "auditStatus"),
        status_words={
            Status.ACCEPTED: (1, 0),
            Status.IN_REVIEW: (1, 1),
            Status.ON_SALE: (8, 2),
            Status.REJECTED: (1, 3),
            Status.DELISTED: (2, 2),
        },
        reason_field="auditReason",
    ),
    "pdd": Shape(
        platform="pdd",
        family="pdd",
        category="cat_id",
        outer_id="out_goods_id",
        title="goods_name",
        brand=("goods_properties", "品牌"),
        skus="sku_list",
        sku_code="out_sku_sn",
        sku_price=("price", "multi_price"),
        sku_stock="quantity",
        fen=True,
        item_price=None,
        item_stock=None,
        add="pdd.goods.add",
        update="pdd.goods.edit.goods.commit",
        stock="pdd.goods.quantity.update",
        price="pdd.goods.sku.price.update",
        delist="pdd.goods.sale.status.set",
        get="pdd.goods.list.get",
        pages=("pdd.goods.list.get",),
        item_id="goods_id",
        # Price goes in one call ("sku_price_list": [{"outer_id", "price"}], in fen).
        params={
            "stock.sku": "outer_id",
            "stock.qty": "quantity",
            "get.outer": "outer_id",
            "page": "page",
            "page_size": "page_size",
        },
        # check_status 1 submitted, 2 in review, 3 passed, 4 rejected.
        status_fields=("is_onsale", "check_status"),
        status_words={
            Status.ACCEPTED: (0, 1),
            Status.IN_REVIEW: (0, 2),
            Status.ON_SALE: (1, 3),
            Status.REJECTED: (0, 4),
            Status.DELISTED: (0, 3),
        },
        reason_field="reject_comment",
    ),
    "douyin": Shape(
        platform="douyin",
        family="douyin",
        category="category_leaf_id",
        outer_id="outer_product_id",
        title="name",
        brand=("product_format_new", "品牌"),
        skus="spec_prices",
        sku_code="code",
        sku_price=("price",),
        sku_stock="stock_num",
        fen=True,
        item_price=None,
        item_stock=None,
        add="product.addV2",
        update="product.editV2",
        stock="sku.syncStock",
        price="sku.editPrice",
        delist="product.setOffline",
        get="product.detail",
        pages=("product.listV2",),
        item_id="product_id",
        params={
            "stock.sku": "code",
            "stock.qty": "stock_num",
            "price.sku": "code",
            "price.value": "price",
            "get.outer": "out_product_id",
            "page": "page",
            "page_size": "size",
        },
        # status 0 online, 1 offline; check_status 1 not submitted, 2 waiting, 3 passed,
        # 4 rejected.
        status_fields=("status", "check_status"),
        status_words={
            Status.ACCEPTED: (1, 1),
            Status.IN_REVIEW: (1, 2),
            Status.ON_SALE: (0, 3),
            Status.REJECTED: (1, 4),
            Status.DELISTED: (1, 3),
        },
        reason_field="audit_reason",
    ),
}


@dataclass(frozen=True)
class WireError:
    """One error a platform answers: its code, sub-code and message, and our kind.

    A sub-code may carry a detail after a colon (`isv.missing-parameter:title`); the
    catalogue lists the part before it."""

    code: str
    sub_code: str
    ours: ErrorCode
    message: str


E = ErrorCode
# The error codes of each wire family. Where a platform's documents give the code, it is
# that code; the rest follow the platform's style (the sandbox answers with these).
CATALOGUES: dict[str, tuple[WireError, ...]] = {
    "top": (
        WireError("7", "accesscontrol.limited-by-api-access-count", E.RATE_LIMITED,
                  "App Call Limited"),
        WireError("7", "accesscontrol.limited-by-app-access-count", E.RATE_LIMITED,
                  "App Call Limited"),
        WireError("15", "isp.remote-service-timeout", E.TIMEOUT, "Remote service error"),
        WireError("15", "isp.remote-service-unavailable", E.SERVER, "Remote service error"),
        WireError("15", "isv.item-forbidden-word", E.BANNED_WORD, "Remote service error"),
        WireError("15", "isv.brand-not-authorized", E.NO_BRAND_AUTHORISATION,
                  "Remote service error"),
        WireError("15", "isv.item-not-exist", E.NOT_FOUND, "Remote service error"),
        WireError("25", "", E.AUTH, "Invalid signature"),
        WireError("27", "", E.AUTH, "Invalid session"),
        WireError("29", "", E.AUTH, "Invalid app Key"),
        WireError("40", "isv.missing-parameter", E.MISSING_ATTRIBUTE,
                  "Missing required arguments"),
        WireError("41", "isv.invalid-parameter", E.SCHEMA_REFUSAL, "Invalid arguments"),
    ),
    "jd": (
        WireError("15", "", E.AUTH, "app_key无效"),
        WireError("16", "", E.AUTH, "签名无效"),
        WireError("19", "", E.AUTH, "access_token无效"),
        WireError("65", "", E.SERVER, "服务暂不可用"),
        WireError("66", "", E.TIMEOUT, "平台服务调用超时"),
        WireError("67", "", E.RATE_LIMITED, "调用频率超限"),
        WireError("68", "", E.RATE_LIMITED, "当日调用次数超限"),
        WireError("3001", "", E.MISSING_ATTRIBUTE, "必填属性缺失"),
        WireError("3002", "", E.SCHEMA_REFUSAL, "参数值不合法"),
        WireError("3003", "", E.BANNED_WORD, "商品信息含违禁词"),
        WireError("3004", "", E.NO_BRAND_AUTHORISATION, "品牌未授权"),
        WireError("3005", "", E.NOT_FOUND, "商品不存在"),
    ),
    "pdd": (
        WireError("10000", "", E.SCHEMA_REFUSAL, "参数错误"),
        WireError("10001", "", E.MISSING_ATTRIBUTE, "缺少必填参数"),
        WireError("10016", "", E.AUTH, "client_id不存在"),
        WireError("10019", "", E.AUTH, "access_token已过期或无效"),
        WireError("20004", "", E.AUTH, "签名校验失败"),
        WireError("50000", "", E.SERVER, "系统繁忙"),
        WireError("50001", "", E.TIMEOUT, "服务调用超时"),
        WireError("53001", "", E.BANNED_WORD, "商品信息含违禁词"),
        WireError("53002", "", E.NO_BRAND_AUTHORISATION, "品牌未授权"),
        WireError("53003", "", E.NOT_FOUND, "商品不存在"),
        WireError("70031", "", E.RATE_LIMITED, "调用过于频繁"),
        WireError("70032", "", E.RATE_LIMITED, "当日调用次数超限"),
    ),
    "douyin": (
        WireError("20000", "isp.service-error", E.SERVER, "服务暂不可用"),
        WireError("20001", "isp.service-timeout", E.TIMEOUT, "服务超时"),
        WireError("30001", "isv.access-token-invalid", E.AUTH, "access_token无效"),
        WireError("30002", "isv.app-key-invalid", E.AUTH, "app_key无效"),
        WireError("30003", "isv.sign-invalid", E.AUTH, "签名错误"),
        WireError("40003", "isv.parameter-missing", E.MISSING_ATTRIBUTE, "缺少必填参数"),
        WireError("40004", "isv.parameter-invalid", E.SCHEMA_REFUSAL, "参数不合法"),
        WireError("50002", "isv.forbidden-word", E.BANNED_WORD, "业务处理失败"),
        WireError("50002", "isv.brand-unauthorized", E.NO_BRAND_AUTHORISATION,
                  "业务处理失败"),
        WireError("50002", "isv.product-not-exist", E.NOT_FOUND, "业务处理失败"),
        WireError("90000", "isv.frequency-limit", E.RATE_LIMITED, "请求过于频繁"),
        WireError("90001", "isv.daily-limit", E.RATE_LIMITED, "当日调用次数超限"),
    ),
}  # fmt: skip


def classify(family: str, code: str, sub_code: str = "") -> ErrorCode:
    """Our kind of a platform's error; UNKNOWN for a code the catalogue does not list."""
    head = sub_code.split(":", 1)[0]
    same_code = [e for e in CATALOGUES.get(family, ()) if e.code == code]
    for entry in same_code:
        if entry.sub_code and entry.sub_code == head:
            return entry.ours
    plain = [e for e in same_code if not e.sub_code]
    if plain:
        return plain[0].ours
    # A code whose entries all share one kind needs no sub-code to be classified.
    kinds = {e.ours for e in same_code}
    return kinds.pop() if len(kinds) == 1 else ErrorCode.UNKNOWN


def wire_error(family: str, ours: ErrorCode, daily: bool = False) -> WireError:
    """The platform's error for one of our kinds (the sandbox's answer); for a rate limit,
    the per-second or the per-day one."""
    found = [e for e in CATALOGUES[family] if e.ours == ours]
    if ours == ErrorCode.RATE_LIMITED:
        return found[1 if daily else 0]
    return found[0]


_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:more\s+)?(?:seconds?|s\b|秒)")


def retry_seconds(message: str) -> float | None:
    """The wait a rate-limit message names ("This ban will last for 2 more seconds",
    "请 1.5 秒后重试"); None when it names none."""
    found = _SECONDS.search(message)
    return float(found.group(1)) if found else None


def say_seconds(seconds: float) -> str:
    """A wait as the messages write it: seconds, rounded up to a hundredth."""
    return f"{math.ceil(max(seconds, 0.0) * 100) / 100:g}"


# --- form-encoded payloads (TOP and Pinduoduo) -----------------------------------------


def encode_form(payload: Mapping[str, Any]) -> dict[str, str]:
    """A payload as form parameters: text as it is, anything else as JSON text (lists,
    objects, numbers, booleans) - the way TOP and Pinduoduo take structured values."""
    return {
        k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        for k, v in payload.items()
    }


def _is_text(subschema: Any) -> bool:
    return isinstance(subschema, dict) and subschema.get("type") == "string"


def decode_form(params: Mapping[str, str], schema: Mapping[str, Any]) -> dict[str, Any]:
    """The payload back from form parameters: a field the schema types as text stays
    text; any other is read as JSON when it is JSON, else kept as text."""
    props = schema.get("properties", {})
    out: dict[str, Any] = {}
    for key, raw in params.items():
        if _is_text(props.get(key)):
            out[key] = raw
            continue
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


# --- call limits ------------------------------------------------------------------------

# Calls per second and per day for one shop, by platform and method ("*" for the rest).
# Pinduoduo's pdd.goods.add figures are the platform's; the others are the sandbox's
# defaults, to be set from each platform's console where it publishes them.
DEFAULT_LIMITS: dict[str, dict[str, tuple[float, int]]] = {
    "taobao": {"*": (20, 100_000)},
    "tmall": {"*": (20, 100_000)},
    "jd": {"*": (20, 100_000)},
    "pdd": {"pdd.goods.add": (3, 1_200), "*": (10, 50_000)},
    "douyin": {"product.addV2": (5, 5_000), "*": (20, 100_000)},
}


def limit_for(
    limits: Mapping[str, Mapping[str, tuple[float, int]]], platform: str, method: str
) -> Quota:
    """The limit of one method: its own entry, else the platform's "*"."""
    table = limits.get(platform, {})
    per_second, per_day = table.get(method) or table.get("*") or (math.inf, 2**62)
    return Quota(method, float(per_second), int(per_day))


def response_key(family: str, method: str) -> str:
    """The key a successful answer is wrapped in: TOP drops the `taobao.` prefix
    (item_add_response, tmall_item_schema_add_response), Pinduoduo its `pdd.`
    (goods_add_response), JD keeps the whole name and spells it "responce"."""
    if family == "jd":
        return method.replace(".", "_") + "_responce"
    for prefix in ("taobao.", "pdd."):
        if method.startswith(prefix):
            method = method[len(prefix) :]
            break
    return method.replace(".", "_") + "_response"
