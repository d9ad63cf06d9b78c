"""The sandbox's side of each platform's wire: reading a signed request, checking who
calls, carrying out the method on the Market, and answering in the platform's shape.

The request and answer shapes are those the adapters speak (their module docstrings
give them per platform); the error codes are the platforms' catalogues in
engine/listing/adapters/shapes.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.listing.adapters.shapes import (
    CATALOGUES,
    SHAPES,
    Shape,
    decode_form,
    response_key,
    wire_error,
)
from engine.listing.adapters.signing import douyin_sign, sorted_params_sign, verify
from engine.listing.marketplace import ErrorCode
from engine.listing.sandbox.config import SandboxConfig
from engine.listing.sandbox.market import Item, Market, Refusal

__all__ = ["Call", "authenticate", "carry_out", "error_body", "ok_body", "read_call"]

# The platform's code for each credential that can be wrong: app key, signature, token.
_AUTH_CODES = {
    "top": {"app": "29", "sign": "25", "token": "27"},
    "jd": {"app": "15", "sign": "16", "token": "19"},
    "pdd": {"app": "10016", "sign": "20004", "token": "10019"},
    "douyin": {"app": "30002", "sign": "30003", "token": "30001"},
}
# Common (not business) parameters of the form-encoded wires.
_COMMON = {
    "top": {"method", "app_key", "session", "timestamp", "format", "v", "sign_method", "sign"},
    "pdd": {"type", "client_id", "access_token", "timestamp", "data_type", "version", "sign"},
}


@dataclass
class Call:
    platform: str
    method: str
    app_key: str
    token: str
    params: dict[str, Any]  # business parameters (form wires: text values)
    signed: dict[str, str]  # what the signature covers
    sign: str
    sign_method: str


def read_call(
    platform: str, path: str, form: Mapping[str, str], query: Mapping[str, str], body: bytes
) -> Call:
    """The call a request makes; Refusal when it cannot be read."""
    family = SHAPES[platform].family
    if family == "douyin":
        method = query.get("method", "")
        if method.replace(".", "/") != path:
            raise Refusal(ErrorCode.SCHEMA_REFUSAL, f"method {method!r} is not the path {path!r}")
        text = body.decode("utf-8", errors="replace")
        try:
            params = json.loads(text) if text.strip() else {}
        except ValueError:
            raise Refusal(
                ErrorCode.SCHEMA_REFUSAL, "param_json is not JSON", "param_json"
            ) from None
        if not isinstance(params, dict):
            raise Refusal(ErrorCode.SCHEMA_REFUSAL, "param_json is not an object", "param_json")
        signed = {**query, "param_json": text}
        return Call(
            platform, method, query.get("app_key", ""), query.get("access_token", ""), params,
            signed, query.get("sign", ""), query.get("sign_method", "md5"),
        )  # fmt: skip
    fields = dict(form)
    if family == "jd":
        try:
            params = json.loads(fields.get("360buy_param_json") or "{}")
        except ValueError:
            raise Refusal(ErrorCode.SCHEMA_REFUSAL, "not JSON", "360buy_param_json") from None
        if not isinstance(params, dict):
            raise Refusal(ErrorCode.SCHEMA_REFUSAL, "not an object", "360buy_param_json")
        return Call(
            platform, fields.get("method", ""), fields.get("app_key", ""),
            fields.get("access_token", ""), params, fields, fields.get("sign", ""), "md5",
        )  # fmt: skip
    business = {k: v for k, v in fields.items() if k not in _COMMON[family]}
    if family == "pdd":
        return Call(
            platform, fields.get("type", ""), fields.get("client_id", ""),
            fields.get("access_token", ""), business, fields, fields.get("sign", ""), "md5",
        )  # fmt: skip
    return Call(
        platform, fields.get("method", ""), fields.get("app_key", ""), fields.get("session", ""),
        business, fields, fields.get("sign", ""), fields.get("sign_method", "md5"),
    )  # fmt: skip


def authenticate(config: SandboxConfig, call: Call) -> None:
    """The app key must be known, the signature right, the token a shop's. The messages
    name which credential failed, never what was sent."""
    family = SHAPES[call.platform].family
    codes = _AUTH_CODES[family]
    secret = config.apps.get(call.app_key)
    if secret is None:
        raise Refusal(ErrorCode.AUTH, "unknown app key", platform_code=codes["app"])
    if family == "douyin":
        s = call.signed
        method = "hmac-sha256" if call.sign_method == "hmac-sha256" else "md5"
        expected = douyin_sign(
            call.app_key, call.method, s["param_json"], s.get("timestamp", ""), secret, method
        )
    else:
        method = "hmac" if call.sign_method == "hmac" else "md5"
        expected = sorted_params_sign(call.signed, secret, method)
    if not verify(call.sign, expected):
        raise Refusal(ErrorCode.AUTH, "the signature does not match", platform_code=codes["sign"])
    known = (config.shops or {}).get(call.platform)
    if not call.token or (config.shops is not None and call.token not in (known or [])):
        raise Refusal(ErrorCode.AUTH, "no shop has this access token", platform_code=codes["token"])


# --- carrying out a call --------------------------------------------------------------------


def _raw(item: Item) -> dict[str, Any]:
    """An item as the platform's read calls give it: the payload, its id and status."""
    shape = SHAPES[item.platform]
    words = shape.status_words[item.status]
    out = dict(item.doc)
    out[shape.item_id] = item.item_id
    out[shape.status_fields[0]], out[shape.status_fields[1]] = words
    out[shape.reason_field] = item.reason
    return out


def _payload(market: Market, shape: Shape, params: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in params.items() if k != shape.item_id}
    if shape.family not in _COMMON:
        return fields
    # Form wires carry structured values as JSON text: read back by the schema's types,
    # the schema found from the category parameter.
    category = (
        decode_form({shape.category: fields[shape.category]}, {})
        if shape.category in fields
        else {}
    )
    schema = market.schema_of(shape.platform, category)
    return decode_form(fields, schema.schema)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _stock(shape: Shape, params: Mapping[str, Any]) -> dict[str, Any]:
    if shape.family == "top":
        pairs = str(params.get("outerid_quantities", ""))
        out: dict[str, Any] = {}
        for pair in filter(None, pairs.split(";")):
            code, _, units = pair.rpartition(":")
            out[code] = units
        return out
    return {str(params.get(shape.params["stock.sku"])): params.get(shape.params["stock.qty"])}


def _prices(shape: Shape, params: Mapping[str, Any]) -> dict[str, Any]:
    if shape.family == "pdd":
        rows = _json(params.get("sku_price_list"))
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise Refusal(ErrorCode.SCHEMA_REFUSAL, "a list of {outer_id, price}", "sku_price_list")
        return {str(r.get("outer_id")): r.get("price") for r in rows}
    return {str(params.get(shape.params["price.sku"])): params.get(shape.params["price.value"])}


def _listing(shape: Shape, items: list[Item], total: int) -> dict[str, Any]:
    raws = [_raw(i) for i in items]
    if shape.family == "top":
        return {"items": {"item": raws}, "total_results": total}
    if shape.family == "jd":
        return {"page": {"data": raws, "totalItem": total}}
    if shape.family == "pdd":
        return {"goods_list": raws, "total_count": total}
    return {"data": raws, "total": total}


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _read(market: Market, call: Call, shop: str, shape: Shape) -> dict[str, Any]:
    params = call.params
    outer = params.get(shape.params["get.outer"])
    if call.method == shape.get and outer is not None:
        found = market.find(call.platform, shop, str(outer))
        if shape.family == "douyin":
            if not found:
                raise Refusal(ErrorCode.NOT_FOUND, f"商品 {outer} 不存在")
            return _raw(found[0])
        return _listing(shape, found, len(found))
    page = _int(params.get(shape.params["page"]), 1)
    size = min(max(_int(params.get(shape.params["page_size"]), 20), 1), 100)
    on_sale = {"taobao.items.onsale.get": True, "taobao.items.inventory.get": False}
    items, total = market.page(call.platform, shop, page, size, on_sale.get(call.method))
    return _listing(shape, items, total)


_UPDATES = ("update", "stock", "price", "delist")


def carry_out(market: Market, call: Call) -> dict[str, Any]:
    """The method's answer data (unwrapped); Refusal as the platform would refuse."""
    shape, shop, params = SHAPES[call.platform], call.token, call.params
    ops = {shape.add: "add", shape.update: "update", shape.stock: "stock",
           shape.price: "price", shape.delist: "delist", shape.get: "read",
           **dict.fromkeys(shape.pages, "read")}  # fmt: skip
    op = ops.get(call.method)
    if op is None:
        raise Refusal(ErrorCode.UNKNOWN, f"unknown method {call.method!r}")
    if op == "read":
        return _read(market, call, shop, shape)
    item_id = params.get(shape.item_id)
    if op == "add":
        item = market.add(call.platform, shop, _payload(market, shape, params))
    elif op in _UPDATES and market.dropped():
        # A dropped update: answered as done, nothing changed (what read-back catches).
        return _done(shape, op, _int(item_id, 0))
    elif op == "update":
        item = market.update(call.platform, shop, item_id, _payload(market, shape, params))
    elif op == "stock":
        item = market.set_stock(call.platform, shop, item_id, _stock(shape, params))
    elif op == "price":
        item = market.set_price(call.platform, shop, item_id, _prices(shape, params))
    else:
        if shape.family == "pdd" and _int(params.get("is_onsale"), 0) != 0:
            raise Refusal(ErrorCode.SCHEMA_REFUSAL, "only is_onsale=0 (off sale)", "is_onsale")
        item = market.delist(call.platform, shop, item_id)
    return _done(shape, op, item.item_id)


def _done(shape: Shape, op: str, item_id: int) -> dict[str, Any]:
    if shape.family == "top":
        return {"item": {"num_iid": item_id}}
    if shape.family == "jd":
        return {"ware": {"wareId": item_id}} if op == "add" else {"success": True}
    if shape.family == "pdd":
        return {"goods_id": item_id} if op == "add" else {"is_success": True}
    return {"product_id": item_id}


# --- answers --------------------------------------------------------------------------------


def ok_body(platform: str, method: str, data: dict[str, Any]) -> dict[str, Any]:
    family = SHAPES[platform].family
    if family == "douyin":
        log_id = uuid.uuid4().hex
        return {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "data": data,
                "log_id": log_id}  # fmt: skip
    if family == "jd":
        return {response_key(family, method): {"code": "0", **data}}
    return {response_key(family, method): data}


_UNKNOWN_METHOD = {"top": "22", "jd": "20", "pdd": "10002", "douyin": "40001"}


def error_body(platform: str, method: str, refusal: Refusal) -> dict[str, Any]:
    """A refusal in the platform's error shape; the field it names follows a colon in the
    sub-code (JD: in zh_desc)."""
    family = SHAPES[platform].family
    request_id = uuid.uuid4().hex
    if refusal.code == ErrorCode.UNKNOWN:
        code, message, sub = _UNKNOWN_METHOD[family], "Invalid method", ""
    else:
        entries = [e for e in CATALOGUES[family] if e.ours == refusal.code]
        pick = next((e for e in entries if e.code == refusal.platform_code), None)
        entry = pick or wire_error(family, refusal.code, refusal.daily)
        code, message, sub = entry.code, entry.message, entry.sub_code
    field = refusal.field
    if family == "jd":
        desc = f"{message}:{field}" if field else message
        error = {"code": code, "zh_desc": desc, "en_desc": refusal.detail}
        # Gateway errors come whole; a business refusal inside the method's answer.
        if len(code) >= 4:
            return {response_key(family, method): error}
        return {"error_response": error}
    if family == "pdd":
        sub = f"field:{field}" if field else ""
        return {"error_response": {"error_code": int(code), "error_msg": message,
                                   "sub_code": sub, "sub_msg": refusal.detail,
                                   "request_id": request_id}}  # fmt: skip
    sub = f"{sub}:{field}" if field and sub else sub
    if family == "douyin":
        return {"code": int(code), "msg": message, "sub_code": sub, "sub_msg": refusal.detail,
                "data": {}, "log_id": request_id}  # fmt: skip
    return {"error_response": {"code": int(code), "msg": message, "sub_code": sub,
                               "sub_msg": refusal.detail, "request_id": request_id}}  # fmt: skip
