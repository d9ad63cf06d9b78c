"""What every adapter shares: the HTTP client, transport failures as our errors, and the
Marketplace operations written once over a wire family's few calls.

A family module (top.py, jd.py, pdd.py, douyin.py) says how a call is signed and sent and
how an answer is unwrapped; this module says what publish, stock, price, delist and
read-back are in terms of those calls and the platform's Shape.

Credentials: the secret only signs (signing.py); neither it nor the signature nor any
request parameter is logged or put in an error message - only the method, the shop and
what the platform answered.
"""

from __future__ import annotations

import logging
import socket
import time
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from engine.core.errors import InputError, Issue
from engine.listing.adapters.shapes import (
    DEFAULT_LIMITS,
    SHAPES,
    Shape,
    classify,
    limit_for,
    response_key,
    retry_seconds,
)
from engine.listing.marketplace import (
    ErrorCode,
    ItemState,
    ListedItem,
    ListingError,
    Marketplace,
    MarketplaceConfig,
    Published,
    Quota,
    Status,
)

__all__ = ["PAGE_SIZE", "WireAdapter", "fen", "yuan_text"]

log = logging.getLogger("engine.listing")
PAGE_SIZE = 100
_CENT = Decimal("0.01")


def _money(price: Decimal, where: str) -> Decimal:
    try:
        exact = price.quantize(_CENT)
    except InvalidOperation:
        exact = None
    if exact is None or exact != price or price <= 0:
        raise InputError([Issue(where, f"{price} is not a positive amount in whole fen")])
    return exact


def yuan_text(price: Decimal, where: str = "price") -> str:
    """A price as the yuan platforms write it: "399.00"."""
    return f"{_money(price, where):.2f}"


def fen(price: Decimal, where: str = "price") -> int:
    """A price in fen (Pinduoduo, Douyin): 399.00 -> 39900."""
    return int(_money(price, where) * 100)


class WireAdapter(Marketplace):
    """One shop on one platform, over one wire family."""

    family: str
    path: str  # the gateway path under the base URL

    def __init__(
        self,
        platform: str,
        shop_id: str,
        config: MarketplaceConfig,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        shape = SHAPES.get(platform)
        if shape is None or shape.family != self.family:
            raise InputError(
                [Issue("platform", f"{platform!r} is not spoken by the {self.family} adapter")],
                f"shop {shop_id}",
            )
        self.platform = platform
        self.shop_id = shop_id
        self.shape: Shape = shape
        self._config = config
        # The sandbox takes the shop id as the shop's access token; a real platform
        # issues one per shop when the shop authorises the app.
        self._token = config.access_token or shop_id
        # The client builds requests (base URL, time-out); the transport sends them.
        # Sent straight through the transport because httpx's client logs every URL,
        # and Douyin's query holds the app key and the access token.
        self._client = httpx.Client(base_url=config.base_url.rstrip("/"), timeout=config.timeout_s)
        # No Nagle delay: a request may go out in two writes (headers, body), and the
        # second would wait for the first's delayed acknowledgement (40 ms a call).
        nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        self._transport = transport or httpx.HTTPTransport(socket_options=nodelay)
        self.pace = None  # see Marketplace
        self.read_retry = None

    def close(self) -> None:
        self._transport.close()
        self._client.close()

    def __enter__(self) -> WireAdapter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- the wire ------------------------------------------------------------------------

    @abstractmethod
    def _request(self, method: str, params: Mapping[str, Any]) -> httpx.Request:
        """The signed request of one call."""

    @abstractmethod
    def _unwrap(self, method: str, body: Any) -> Any:
        """The answer of a call, or raise its error (self._refused)."""

    def _unwrap_routed(self, method: str, body: Any, code_key: str, message_key: str) -> Any:
        """The answer of a router-style platform (TOP, Pinduoduo): `error_response` with
        the platform's code and message keys, else the `<method>_response` object."""
        error = body.get("error_response") if isinstance(body, dict) else None
        if isinstance(error, dict):
            raise self._refused(
                error.get(code_key, ""),
                str(error.get("sub_code") or ""),
                str(error.get(message_key) or ""),
                str(error.get("sub_msg") or ""),
            )
        key = response_key(self.family, method)
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise self._refused("", "", f"{method}: an answer without {key}", "")
        return body[key]

    def _call(self, method: str, params: Mapping[str, Any]) -> Any:
        if self.pace is not None:
            self.pace(method)  # waits for the shop's quota; may raise (quota used up)
        request = self._request(method, params)
        log.debug("%s %s shop=%s", self.platform, method, self.shop_id)
        try:
            response = self._transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except httpx.TimeoutException:
            raise self._error(ErrorCode.TIMEOUT, f"{method}: no answer in time", "") from None
        except httpx.TransportError as exc:
            kind = type(exc).__name__
            raise self._error(ErrorCode.SERVER, f"{method}: {kind}", "") from None
        status = str(response.status_code)
        if response.status_code >= 500:
            raise self._error(ErrorCode.SERVER, f"{method}: HTTP {status}", status)
        try:
            body = response.json()
        except ValueError:
            raise self._error(
                ErrorCode.SERVER, f"{method}: HTTP {status}, not JSON", status
            ) from None
        return self._unwrap(method, body)

    def _error(
        self,
        code: ErrorCode,
        message: str,
        platform_code: str,
        retry_after_s: float | None = None,
        field: str | None = None,
    ) -> ListingError:
        error = ListingError(
            code,
            message,
            platform=self.platform,
            platform_code=platform_code,
            retry_after_s=retry_after_s,
            field=field,
        )
        log.info("%s shop=%s refused: %s", self.platform, self.shop_id, error)
        return error

    def _refused(self, code: Any, sub_code: str, message: str, detail: str) -> ListingError:
        """A platform's error answer as ours: classified by the catalogue, the wait of a
        rate limit read from its message, the field a refusal names (after the colon)."""
        code = str(code)
        ours = classify(self.family, code, sub_code)
        field = None
        if ours in (ErrorCode.MISSING_ATTRIBUTE, ErrorCode.SCHEMA_REFUSAL) and ":" in sub_code:
            field = sub_code.split(":", 1)[1]
        wait = retry_seconds(f"{message} {detail}") if ours == ErrorCode.RATE_LIMITED else None
        said = f"{message}: {detail}" if detail else message
        shown = f"{code}/{sub_code}" if sub_code else code
        return self._error(ours, said, shown, wait, field)

    # --- family calls --------------------------------------------------------------------

    @abstractmethod
    def _add(self, payload: Mapping[str, Any]) -> str:
        """Create; the platform's item id."""

    @abstractmethod
    def _set_stock(self, item_id: str, stock: Mapping[str, int]) -> None: ...

    @abstractmethod
    def _set_prices(self, item_id: str, prices: Mapping[str, Decimal]) -> None: ...

    @abstractmethod
    def _find(self, outer_id: str) -> list[dict[str, Any]]:
        """The platform's records of items with this outer id."""

    @abstractmethod
    def _page(self, method: str, page: int) -> tuple[list[dict[str, Any]], int]:
        """One page of a listing call: its items and the total."""

    def _update(self, item_id: str, payload: Mapping[str, Any]) -> None:
        self._call(self.shape.update, {self.shape.item_id: item_id, **payload})

    def _delist(self, item_id: str) -> None:
        self._call(self.shape.delist, {self.shape.item_id: item_id})

    # --- Marketplace ---------------------------------------------------------------------

    def publish(self, payload: Mapping[str, Any], *, item_id: str | None = None) -> Published:
        outer_id = payload.get(self.shape.outer_id)
        if not isinstance(outer_id, str) or not outer_id:
            raise InputError(
                [Issue(self.shape.outer_id, "the payload has no outer id")], f"shop {self.shop_id}"
            )
        if item_id is None:
            # Looked up first, so a create retried after a timeout updates what the first
            # attempt made instead of listing the product twice.
            found = self.get(outer_id)
            item_id = found.item_id if found is not None else None
        if item_id is not None:
            self._update(item_id, payload)
            return Published(item_id, outer_id, ItemState(Status.ACCEPTED), created=False)
        made = self._add(payload)
        return Published(made, outer_id, ItemState(Status.ACCEPTED), created=True)

    def _item_id(self, outer_id: str) -> str:
        found = self.get(outer_id)
        if found is None:
            raise self._error(ErrorCode.NOT_FOUND, f"no item with outer id {outer_id}", "")
        return found.item_id

    def update_stock(
        self, outer_id: str, stock: Mapping[str, int], *, item_id: str | None = None
    ) -> None:
        self._set_stock(item_id or self._item_id(outer_id), stock)

    def update_price(
        self, outer_id: str, prices: Mapping[str, Decimal], *, item_id: str | None = None
    ) -> None:
        self._set_prices(item_id or self._item_id(outer_id), prices)

    def delist(self, outer_id: str) -> None:
        self._delist(self._item_id(outer_id))

    def get(self, outer_id: str) -> ListedItem | None:
        found = self._find(outer_id)
        return self._listed(found[0]) if found else None

    def items(self) -> list[ListedItem]:
        # An item whose review passes during the read is in two of the platform's lists
        # (in review, then on sale): kept once, as last read.
        found = {item.item_id: item for item in map(self._listed, self._all())}
        return list(found.values())

    def _all(self) -> Iterator[dict[str, Any]]:
        for method in self.shape.pages:
            page = 1
            while True:
                items, total = self._page_again(method, page)
                yield from items
                if not items or page * PAGE_SIZE >= total:
                    break
                page += 1

    def _page_again(self, method: str, page: int) -> tuple[list[dict[str, Any]], int]:
        """One page, asked again while `read_retry` says to wait and try: a shop of
        thousands of items is read a page at a time, and one page's time-out must not
        send the whole read back to the first page."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._page(method, page)
            except ListingError as error:
                wait = self.read_retry(attempt, error) if self.read_retry else None
                if wait is None:
                    raise
                time.sleep(wait)

    def quota(self) -> list[Quota]:
        s = self.shape
        methods = dict.fromkeys([s.add, s.update, s.stock, s.price, s.delist, s.get, *s.pages])
        return [limit_for(DEFAULT_LIMITS, self.platform, m) for m in methods]

    # --- read-back -----------------------------------------------------------------------

    def _price(self, value: Any) -> Decimal:
        if self.shape.fen:
            return (Decimal(int(value)) / 100).quantize(_CENT)
        return Decimal(str(value)).quantize(_CENT)

    def _listed(self, raw: Mapping[str, Any]) -> ListedItem:
        s = self.shape
        words = (raw.get(s.status_fields[0]), raw.get(s.status_fields[1]))
        status = next((k for k, v in s.status_words.items() if tuple(v) == words), None)
        if status is None:
            raise self._error(ErrorCode.UNKNOWN, f"unknown item status {words}", "")
        reason = str(raw.get(s.reason_field) or "") if status == Status.REJECTED else ""
        skus = raw.get(s.skus) or []
        try:
            prices = {str(k[s.sku_code]): self._price(k[s.sku_price[0]]) for k in skus}
            stock = {str(k[s.sku_code]): int(k[s.sku_stock]) for k in skus}
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise self._error(ErrorCode.UNKNOWN, f"unreadable SKU list: {exc!r}", "") from None
        payload = {k: v for k, v in raw.items() if k not in (s.item_id, *s.status_fields)}
        payload.pop(s.reason_field, None)
        return ListedItem(
            platform=self.platform,
            shop_id=self.shop_id,
            outer_id=str(raw.get(s.outer_id, "")),
            item_id=str(raw.get(s.item_id, "")),
            state=ItemState(status, reason),
            title=str(raw.get(s.title, "")),
            prices=prices,
            stock=stock,
            payload=payload,
        )
