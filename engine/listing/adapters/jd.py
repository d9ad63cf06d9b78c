"""JD (京东) over its open platform gateway.

Wire: POST {base}/routerjson, form-encoded. Common parameters method, app_key,
access_token, timestamp ("YYYY-MM-DD HH:MM:SS", China time), v=2.0, sign (md5 of the
sorted parameters wrapped in the secret); every business parameter in one JSON text,
360buy_param_json. An answer is {"<method with underscores>_responce": {"code": "0",
...}}; a gateway error (signature, token, call limit, service) is {"error_response":
{code, zh_desc, en_desc}}, a business refusal (attribute, word, brand) comes inside the
responce with a code other than "0".

Calls: jingdong.ware.write.add, jingdong.ware.write.update (wareId + payload),
jingdong.stock.write.updateSkuStock (wareId, outerId, stockNum; one SKU a call),
jingdong.price.write.updateSkuJdPrice (wareId, outerId, jdPrice; one SKU a call),
jingdong.ware.write.offShelf (wareId), jingdong.ware.read.searchWare4Valid (outerId, or
pageNo and pageSize).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from engine.listing.adapters.base import PAGE_SIZE, WireAdapter, yuan_text
from engine.listing.adapters.shapes import response_key
from engine.listing.adapters.signing import sorted_params_sign
from engine.listing.adapters.top import china_time

__all__ = ["JdMarketplace"]


class JdMarketplace(WireAdapter):
    family = "jd"
    path = "/routerjson"

    def _request(self, method: str, params: Mapping[str, Any]) -> httpx.Request:
        form = {
            "method": method,
            "app_key": self._config.app_key,
            "access_token": self._token,
            "timestamp": china_time(),
            "v": "2.0",
            "360buy_param_json": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
        }
        form["sign"] = sorted_params_sign(form, self._config.app_secret)
        return self._client.build_request("POST", self.path, data=form)

    def _raise(self, answer: Mapping[str, Any]) -> None:
        # The field a refusal names follows the colon of zh_desc ("必填属性缺失:title").
        desc = str(answer.get("zh_desc") or "")
        message, _, field = desc.partition(":")
        sub_code = f"field:{field}" if field else ""
        detail = str(answer.get("en_desc") or "")
        raise self._refused(answer.get("code", ""), sub_code, message, detail)

    def _unwrap(self, method: str, body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("error_response"), dict):
            self._raise(body["error_response"])
        key = response_key(self.family, method)
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise self._refused("", "", f"{method}: an answer without {key}", "")
        answer = body[key]
        if str(answer.get("code", "0")) != "0":
            self._raise(answer)
        return answer

    def _add(self, payload: Mapping[str, Any]) -> str:
        return str(self._call(self.shape.add, payload)["ware"]["wareId"])

    def _set_stock(self, item_id: str, stock: Mapping[str, int]) -> None:
        for code, units in stock.items():
            self._call(self.shape.stock, {"wareId": item_id, "outerId": code, "stockNum": units})

    def _set_prices(self, item_id: str, prices: Mapping[str, Decimal]) -> None:
        for code, price in prices.items():
            value = yuan_text(price, f"prices[{code}]")
            self._call(self.shape.price, {"wareId": item_id, "outerId": code, "jdPrice": value})

    def _find(self, outer_id: str) -> list[dict[str, Any]]:
        answer = self._call(self.shape.get, {"outerId": outer_id})
        return list((answer.get("page") or {}).get("data") or [])

    def _page(self, method: str, page: int) -> tuple[list[dict[str, Any]], int]:
        answer = self._call(method, {"pageNo": page, "pageSize": PAGE_SIZE})
        found = answer.get("page") or {}
        return list(found.get("data") or []), int(found.get("totalItem") or 0)
