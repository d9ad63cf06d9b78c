"""Pinduoduo (拼多多) over its open platform gateway.

Wire: POST {base}/api/router, form-encoded. Common parameters type (the method),
client_id (the app key), access_token, timestamp (Unix seconds), data_type=JSON,
version=V1, sign (md5 of the sorted parameters wrapped in the secret); business
parameters beside them, structured values as JSON text. An answer is
{"<method without pdd.>_response": {...}} or {"error_response": {error_code, error_msg,
sub_code, sub_msg}}. Prices in fen.

Calls: pdd.goods.add, pdd.goods.edit.goods.commit (goods_id + payload),
pdd.goods.quantity.update (goods_id, outer_id, quantity, update_type=1: absolute; one SKU
a call), pdd.goods.sku.price.update (goods_id, sku_price_list [{outer_id, price}]),
pdd.goods.sale.status.set (goods_id, is_onsale=0), pdd.goods.list.get (outer_id, or page
and page_size).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from engine.listing.adapters.base import PAGE_SIZE, WireAdapter, fen
from engine.listing.adapters.shapes import encode_form
from engine.listing.adapters.signing import sorted_params_sign

__all__ = ["PddMarketplace"]


class PddMarketplace(WireAdapter):
    family = "pdd"
    path = "/api/router"

    def _request(self, method: str, params: Mapping[str, Any]) -> httpx.Request:
        form = {
            **encode_form(params),
            "type": method,
            "client_id": self._config.app_key,
            "access_token": self._token,
            "timestamp": str(int(time.time())),
            "data_type": "JSON",
            "version": "V1",
        }
        form["sign"] = sorted_params_sign(form, self._config.app_secret)
        return self._client.build_request("POST", self.path, data=form)

    def _unwrap(self, method: str, body: Any) -> Any:
        return self._unwrap_routed(method, body, "error_code", "error_msg")

    def _add(self, payload: Mapping[str, Any]) -> str:
        return str(self._call(self.shape.add, payload)["goods_id"])

    def _delist(self, item_id: str) -> None:
        self._call(self.shape.delist, {"goods_id": item_id, "is_onsale": 0})

    def _set_stock(self, item_id: str, stock: Mapping[str, int]) -> None:
        for code, units in stock.items():
            params = {"goods_id": item_id, "outer_id": code, "quantity": units, "update_type": 1}
            self._call(self.shape.stock, params)

    def _set_prices(self, item_id: str, prices: Mapping[str, Decimal]) -> None:
        rows = [{"outer_id": c, "price": fen(p, f"prices[{c}]")} for c, p in prices.items()]
        self._call(self.shape.price, {"goods_id": item_id, "sku_price_list": rows})

    def _find(self, outer_id: str) -> list[dict[str, Any]]:
        return list(self._call(self.shape.get, {"outer_id": outer_id}).get("goods_list") or [])

    def _page(self, method: str, page: int) -> tuple[list[dict[str, Any]], int]:
        answer = self._call(method, {"page": page, "page_size": PAGE_SIZE})
        return list(answer.get("goods_list") or []), int(answer.get("total_count") or 0)
