"""Taobao and Tmall over TOP, the Taobao Open Platform gateway.

Wire: POST {base}/router/rest, form-encoded. Common parameters method, app_key, session
(the shop's access token), timestamp ("YYYY-MM-DD HH:MM:SS", China time), format=json,
v=2.0, sign_method (md5 or hmac), sign; business parameters beside them, text as it is
and structured values as JSON text. An answer is {"<method>_response": {...}} or
{"error_response": {code, msg, sub_code, sub_msg}}.

Calls: taobao.item.add / tmall.item.schema.add (create), taobao.item.update /
tmall.item.schema.update (num_iid + payload), taobao.skus.quantity.update
(num_iid, outerid_quantities "A:5;B:7"), taobao.item.sku.price.update (num_iid,
outer_id, price; one SKU a call), taobao.item.update.delisting (num_iid),
taobao.items.custom.get (outer_id), taobao.items.onsale.get and
taobao.items.inventory.get (page_no, page_size). outer_id is our SPU code on the item and
our SKU code on each SKU.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx

from engine.listing.adapters.base import PAGE_SIZE, WireAdapter, yuan_text
from engine.listing.adapters.shapes import encode_form
from engine.listing.adapters.signing import sorted_params_sign

__all__ = ["CHINA", "TopMarketplace", "china_time"]

CHINA = timezone(timedelta(hours=8))


def china_time() -> str:
    return datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")


class TopMarketplace(WireAdapter):
    family = "top"
    path = "/router/rest"
    sign_method = "md5"

    def _request(self, method: str, params: Mapping[str, Any]) -> httpx.Request:
        form = {
            **encode_form(params),
            "method": method,
            "app_key": self._config.app_key,
            "session": self._token,
            "timestamp": china_time(),
            "format": "json",
            "v": "2.0",
            "sign_method": self.sign_method,
        }
        form["sign"] = sorted_params_sign(form, self._config.app_secret, self.sign_method)
        return self._client.build_request("POST", self.path, data=form)

    def _unwrap(self, method: str, body: Any) -> Any:
        return self._unwrap_routed(method, body, "code", "msg")

    def _add(self, payload: Mapping[str, Any]) -> str:
        answer = self._call(self.shape.add, payload)
        return str(answer["item"]["num_iid"])

    def _set_stock(self, item_id: str, stock: Mapping[str, int]) -> None:
        quantities = ";".join(f"{code}:{units}" for code, units in stock.items())
        self._call(self.shape.stock, {"num_iid": item_id, "outerid_quantities": quantities})

    def _set_prices(self, item_id: str, prices: Mapping[str, Decimal]) -> None:
        for code, price in prices.items():
            where = f"prices[{code}]"
            self._call(
                self.shape.price,
                {"num_iid": item_id, "outer_id": code, "price": yuan_text(price, where)},
            )

    def _find(self, outer_id: str) -> list[dict[str, Any]]:
        answer = self._call(self.shape.get, {"outer_id": outer_id})
        return list((answer.get("items") or {}).get("item") or [])

    def _page(self, method: str, page: int) -> tuple[list[dict[str, Any]], int]:
        answer = self._call(method, {"page_no": page, "page_size": PAGE_SIZE})
        items = list((answer.get("items") or {}).get("item") or [])
        return items, int(answer.get("total_results") or 0)
