"""The sandbox's marketplace itself, the same for every platform: the items it accepted,
per platform and shop, their review, the call limits, and the faults it injects.

Everything here speaks our words (ErrorCode, Status) and the catalog payload's field
names (the platform's Shape); wire.py puts it into each platform's request and answer
shapes. One lock guards the state: calls are short, and the only slow thing - a call
made to time out - sleeps outside it.
"""

from __future__ import annotations

import copy
import random
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.catalog.completeness import validate
from engine.catalog.payload import FieldIssue
from engine.catalog.registry import PlatformSchema, Registry
from engine.core.errors import InputError
from engine.listing.adapters.shapes import SHAPES, Shape, say_seconds
from engine.listing.marketplace import ErrorCode, Status
from engine.listing.sandbox.config import SandboxConfig

__all__ = ["DAY_S", "Fault", "Item", "Market", "Refusal"]

DAY_S = 86_400
CHINA_OFFSET_S = 8 * 3600  # a platform's day starts at midnight China time
_MAX_SHOWN = 10  # issues named in one refusal's detail


class Refusal(Exception):
    """A call the sandbox refuses, in our words; wire.py renders the platform's."""

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        field: str | None = None,
        *,
        retry_after_s: float | None = None,
        daily: bool = False,
        platform_code: str = "",
    ) -> None:
        self.code = code
        self.detail = detail
        # The platform's exact code, where our kind has several (which credential failed).
        self.platform_code = platform_code
        self.field = field
        self.retry_after_s = retry_after_s
        self.daily = daily
        super().__init__(detail)


@dataclass
class Item:
    platform: str
    shop: str
    item_id: int
    doc: dict[str, Any]
    status: Status
    submitted_at: float
    reason: str = ""
    polls: int = 0

    @property
    def outer_id(self) -> str:
        return str(self.doc.get(SHAPES[self.platform].outer_id, ""))


@dataclass
class _Window:
    """Calls of one shop and method: the last second's times and today's count."""

    recent: deque[float] = field(default_factory=deque)
    day: int = -1
    today: int = 0


class Fault:
    TIMEOUT = "timeout"
    SERVER = "5xx"


class Market:
    def __init__(
        self, config: SandboxConfig, registry: Registry, clock: Callable[[], float]
    ) -> None:
        self.config = config
        self.registry = registry
        self.clock = clock
        self._lock = threading.Lock()
        self._rng = random.Random(config.seed)
        self._items: dict[tuple[str, str], dict[int, Item]] = {}
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self._next_id = 100_000_001

    # --- calls: limits and faults ----------------------------------------------------------

    def admit(self, platform: str, shop: str, method: str) -> None:
        """Count one call of a shop, or refuse it over the per-second or per-day limit
        (a refused call is not counted, as the platforms do)."""
        limit = self.config.limit(platform, method)
        now = self.clock()
        with self._lock:
            window = self._windows.setdefault((platform, shop, method), _Window())
            day = int((now + CHINA_OFFSET_S) // DAY_S)
            if window.day != day:
                window.day, window.today = day, 0
            while window.recent and window.recent[0] <= now - 1.0:
                window.recent.popleft()
            if window.today >= limit.per_day:
                wait = (day + 1) * DAY_S - CHINA_OFFSET_S - now
                detail = (
                    f"{method}: {limit.per_day} calls a day; retry in {say_seconds(wait)} seconds"
                )
                raise Refusal(ErrorCode.RATE_LIMITED, detail, retry_after_s=wait, daily=True)
            if len(window.recent) >= limit.per_second:
                wait = window.recent[0] + 1.0 - now if window.recent else 1.0
                shown = f"{limit.per_second:g}"
                detail = f"{method}: {shown} calls a second; retry in {say_seconds(wait)} seconds"
                raise Refusal(ErrorCode.RATE_LIMITED, detail, retry_after_s=wait)
            window.recent.append(now)
            window.today += 1

    def fault(self) -> str | None:
        """Whether this call fails transiently, and how (seeded: the same calls in the same
        order fail the same way)."""
        with self._lock:
            if self._rng.random() >= self.config.fail_rate:
                return None
            timeout = self._rng.random() < self.config.timeout_share
        return Fault.TIMEOUT if timeout else Fault.SERVER

    def dropped(self) -> bool:
        """Whether this update is answered ok and not applied."""
        with self._lock:
            return self._rng.random() < self.config.drop_rate

    # --- payloads ------------------------------------------------------------------------

    def schema_of(self, platform: str, doc: Mapping[str, Any]) -> PlatformSchema:
        shape = SHAPES[platform]
        category = doc.get(shape.category)
        if category is None:
            raise Refusal(
                ErrorCode.MISSING_ATTRIBUTE, f"{shape.category}: required", shape.category
            )
        try:
            return self.registry.schema(platform, str(category))
        except InputError as error:
            message = "; ".join(i.message for i in error.issues)
            raise Refusal(ErrorCode.SCHEMA_REFUSAL, message, shape.category) from None

    def _check(self, platform: str, shop: str, doc: dict[str, Any]) -> None:
        """Refuse a payload as the platform would at submission: its schema, words it
        refuses outright, a brand the shop is not authorised for."""
        schema = self.schema_of(platform, doc)
        issues = validate(schema, doc)
        if issues:
            raise _schema_refusal(issues)
        shape = SHAPES[platform]
        title = str(doc.get(shape.title, ""))
        for word in self.config.refused_words:
            if word in title:
                raise Refusal(ErrorCode.BANNED_WORD, f"标题含违禁词「{word}」", shape.title)
        allowed = self.config.brand_authorisation.get(shop)
        brand = _at(doc, shape.brand)
        if allowed is not None and brand not in allowed:
            path = ".".join(shape.brand)
            raise Refusal(ErrorCode.NO_BRAND_AUTHORISATION, f"店铺未获得品牌「{brand}」授权", path)

    # --- items ---------------------------------------------------------------------------

    def _shop(self, platform: str, shop: str) -> dict[int, Item]:
        return self._items.setdefault((platform, shop), {})

    def _item(self, platform: str, shop: str, item_id: Any) -> Item:
        try:
            number = int(str(item_id))
        except ValueError:
            number = -1
        found = self._shop(platform, shop).get(number)
        if found is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"商品 {item_id} 不存在")
        return found

    def add(self, platform: str, shop: str, doc: dict[str, Any]) -> Item:
        # Like the platforms, the sandbox does not make outer ids unique: a client that
        # creates twice lists twice (what the adapters' look-up before create prevents).
        self._check(platform, shop, doc)
        with self._lock:
            item = Item(platform, shop, self._next_id, doc, Status.ACCEPTED, self.clock())
            self._next_id += 1
            self._shop(platform, shop)[item.item_id] = item
        return item

    def update(self, platform: str, shop: str, item_id: Any, doc: dict[str, Any]) -> Item:
        """A full edit: the new payload goes to review again."""
        self._check(platform, shop, doc)
        with self._lock:
            item = self._item(platform, shop, item_id)
            item.doc, item.status, item.reason = doc, Status.ACCEPTED, ""
            item.polls, item.submitted_at = 0, self.clock()
        return item

    def _edit(
        self, platform: str, shop: str, item_id: Any, change: Callable[[dict[str, Any]], None]
    ) -> Item:
        """Stock or price: changed on a copy, checked against the schema, then kept; the
        review state stays."""
        with self._lock:
            item = self._item(platform, shop, item_id)
            doc = copy.deepcopy(item.doc)
        change(doc)
        issues = validate(self.schema_of(platform, doc), doc)
        if issues:
            raise _schema_refusal(issues)
        with self._lock:
            item.doc = doc
        return item

    def set_stock(self, platform: str, shop: str, item_id: Any, stock: Mapping[str, Any]) -> Item:
        shape = SHAPES[platform]

        def change(doc: dict[str, Any]) -> None:
            skus = _skus(shape, doc, stock)
            for code, units in stock.items():
                skus[code][shape.sku_stock] = _whole(units, shape.sku_stock)
            if shape.item_stock:
                doc[shape.item_stock] = sum(int(s.get(shape.sku_stock, 0)) for s in skus.values())

        return self._edit(platform, shop, item_id, change)

    def set_price(self, platform: str, shop: str, item_id: Any, prices: Mapping[str, Any]) -> Item:
        """Prices in the platform's unit: yuan text, or whole fen."""
        shape = SHAPES[platform]

        def change(doc: dict[str, Any]) -> None:
            skus = _skus(shape, doc, prices)
            for code, value in prices.items():
                given = _whole(value, shape.sku_price[0]) if shape.fen else str(value)
                for name in shape.sku_price:
                    skus[code][name] = given
            if shape.item_price:
                try:
                    lowest = min(Decimal(str(s[shape.sku_price[0]])) for s in skus.values())
                except InvalidOperation:
                    return  # the schema names the price that is not a number
                doc[shape.item_price] = f"{lowest:.2f}"

        return self._edit(platform, shop, item_id, change)

    def delist(self, platform: str, shop: str, item_id: Any) -> Item:
        with self._lock:
            item = self._item(platform, shop, item_id)
            item.status, item.reason = Status.DELISTED, ""
        return item

    # --- reading: the review advances as sellers poll -------------------------------------

    def _poll(self, item: Item, now: float) -> None:
        if item.status not in (Status.ACCEPTED, Status.IN_REVIEW):
            return
        item.polls += 1
        review = self.config.review
        if review.seconds is not None:
            done = now - item.submitted_at >= review.seconds
        else:
            done = item.polls >= review.polls
        if not done:
            item.status = Status.IN_REVIEW
            return
        title = str(item.doc.get(SHAPES[item.platform].title, ""))
        banned = next((w for w in self.config.banned_words if w in title), None)
        if banned is None:
            item.status = Status.ON_SALE
        else:
            item.status, item.reason = Status.REJECTED, f"标题含违禁词「{banned}」"

    def find(self, platform: str, shop: str, outer_id: str) -> list[Item]:
        now = self.clock()
        with self._lock:
            found = [i for i in self._shop(platform, shop).values() if i.outer_id == outer_id]
            for item in found:
                self._poll(item, now)
            return [copy.deepcopy(i) for i in found]

    def page(
        self, platform: str, shop: str, page: int, size: int, on_sale: bool | None = None
    ) -> tuple[list[Item], int]:
        """One page of a shop's items in the order made; `on_sale` keeps those on sale
        (True) or the others (False)."""
        now = self.clock()
        with self._lock:
            items = list(self._shop(platform, shop).values())
            for item in items:
                self._poll(item, now)
            if on_sale is not None:
                items = [i for i in items if (i.status == Status.ON_SALE) == on_sale]
            start = (max(page, 1) - 1) * size
            return [copy.deepcopy(i) for i in items[start : start + size]], len(items)


def _at(doc: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _whole(value: Any, name: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        detail = f"{name}: {value!r} is not a whole number"
        raise Refusal(ErrorCode.SCHEMA_REFUSAL, detail, name) from None
    return number


def _skus(
    shape: Shape, doc: dict[str, Any], wanted: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    skus = {str(s.get(shape.sku_code)): s for s in doc.get(shape.skus) or [] if isinstance(s, dict)}
    unknown = [code for code in wanted if code not in skus]
    if unknown:
        field = f"{shape.skus}[{unknown[0]}]"
        raise Refusal(ErrorCode.SCHEMA_REFUSAL, f"no SKU {', '.join(unknown)} on the item", field)
    return skus


def _schema_refusal(issues: list[FieldIssue]) -> Refusal:
    """The first missing field if any (the platforms name one), else the first refused;
    the detail lists every issue (up to ten)."""
    missing = [i for i in issues if i.rule == "required"]
    first = (missing or issues)[0]
    code = ErrorCode.MISSING_ATTRIBUTE if missing else ErrorCode.SCHEMA_REFUSAL
    shown = "; ".join(f"{i.field}: {i.message}" for i in issues[:_MAX_SHOWN])
    more = f" (and {len(issues) - _MAX_SHOWN} more)" if len(issues) > _MAX_SHOWN else ""
    return Refusal(code, shown + more, first.field)
