"""Douyin (抖店) over its open platform.

Wire: POST {base}/<method with slashes> (product.addV2 -> /product/addV2); the query
holds app_key, method, access_token, timestamp ("YYYY-MM-DD HH:MM:SS", China time), v=2,
sign_method (md5 or hmac-sha256) and sign; the body is param_json, the business
parameters as canonical JSON (keys sorted, no spaces), which the signature covers. An
answer is {code, msg, sub_code, sub_msg, data, log_id}, code 10000 meaning success.
Prices in fen.

Calls: product.addV2, product.editV2 (product_id + payload), sku.syncStock (product_id,
code, stock_num, incremental=false; one SKU a call), sku.editPrice (product_id, code,
price; one SKU a call), product.setOffline (product_id), product.detail
(out_product_id), product.listV2 (page, size).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from engine.listing.adapters.base import PAGE_SIZE, WireAdapter, fen
from engine.listing.adapters.signing import canonical_params, douyin_sign
from engine.listing.adapters.top import china_time
from engine.listing.marketplace import ErrorCode, ListingError

__all__ = ["OK", "DouyinMarketplace"]

OK = 10000


class DouyinMarketplace(WireAdapter):
    family = "douyin"
    path = ""
    sign_method = "md5"

    def _request(self, method: str, params: Mapping[str, Any]) -> httpx.Request:
        body = canonical_params(params)
        stamp = china_time()
        query = {
            "app_key": self._config.app_key,
            "method": method,
            "access_token": self._token,
            "timestamp": stamp,
            "v": "2",
            "sign_method": self.sign_method,
            "sign": douyin_sign(
                self._config.app_key, method, body, stamp, self._config.app_secret,
                self.sign_method,
            ),
        }  # fmt: skip
        return self._client.build_request(
            "POST",
            "/" + method.replace(".", "/"),
            params=query,
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )

    def _unwrap(self, method: str, body: Any) -> Any:
        if not isinstance(body, dict) or "code" not in body:
            raise self._refused("", "", f"{method}: an answer without a code", "")
        if body["code"] != OK:
            raise self._refused(
                body["code"],
                str(body.get("sub_code") or ""),
                str(body.get("msg") or ""),
                str(body.get("sub_msg") or ""),
            )
        return body.get("data") or {}

    def _add(self, payload: Mapping[str, Any]) -> str:
        return str(self._call(self.shape.add, payload)["product_id"])

    def _set_stock(self, item_id: str, stock: Mapping[str, int]) -> None:
        for code, units in stock.items():
            params = {"product_id": item_id, "code": code, "stock_num": units, "incremental": False}
            self._call(self.shape.stock, params)

    def _set_prices(self, item_id: str, prices: Mapping[str, Decimal]) -> None:
        for code, price in prices.items():
            value = fen(price, f"prices[{code}]")
            self._call(self.shape.price, {"product_id": item_id, "code": code, "price": value})

    def _find(self, outer_id: str) -> list[dict[str, Any]]:
        try:
            return [self._call(self.shape.get, {"out_product_id": outer_id})]
        except ListingError as error:
            if error.code == ErrorCode.NOT_FOUND:
                return []
            raise

    def _page(self, method: str, page: int) -> tuple[list[dict[str, Any]], int]:
        answer = self._call(method, {"page": page, "size": PAGE_SIZE})
        return list(answer.get("data") or []), int(answer.get("total") or 0)
