"""One interface to every marketplace: publish a catalog payload, update stock and price,
delist, read back, report the call quota - and our own kinds of answers and errors.

An adapter (engine/listing/adapters/) speaks one platform's wire shape and turns its
answers into these types, so the listing jobs never see a platform's error code: they see
an ErrorCode, whether it is worth retrying, and how long to wait. What the platform said
is kept (`platform_code`, the message) for the report people read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from engine.core.errors import OmnistockError

__all__ = [
    "RETRYABLE",
    "ErrorCode",
    "ItemState",
    "ListedItem",
    "ListingError",
    "Marketplace",
    "MarketplaceConfig",
    "Published",
    "Quota",
    "Status",
]


class ErrorCode(StrEnum):
    """Our kinds of platform errors. The first three pass with time; the rest need a
    person to change the product, the shop or the credentials."""

    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    SERVER = "server"  # 5xx, a busy or broken platform service
    MISSING_ATTRIBUTE = "missing_attribute"
    BANNED_WORD = "banned_word"
    NO_BRAND_AUTHORISATION = "no_brand_authorisation"
    SCHEMA_REFUSAL = "schema_refusal"  # a field the platform's schema refuses
    AUTH = "auth"  # wrong app key, secret (signature) or access token
    NOT_FOUND = "not_found"  # no such item on the platform
    UNKNOWN = "unknown"  # a code the adapter does not know: a person looks at it


RETRYABLE = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.TIMEOUT, ErrorCode.SERVER})


class ListingError(OmnistockError):
    """A call the platform refused or that did not complete.

    `retry_after_s` is the platform's own hint (a quota window), else None; `field` is
    the payload field a refusal names, when it names one."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        platform: str,
        platform_code: str = "",
        retry_after_s: float | None = None,
        field: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.platform = platform
        self.platform_code = platform_code
        self.retry_after_s = retry_after_s
        self.field = field
        said = f" [{platform_code}]" if platform_code else ""
        super().__init__(f"{platform}: {code.value}{said}: {message}")

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE


class Status(StrEnum):
    ACCEPTED = "accepted"  # taken, review not started
    IN_REVIEW = "in_review"
    ON_SALE = "on_sale"
    REJECTED = "rejected"
    DELISTED = "delisted"


@dataclass(frozen=True)
class ItemState:
    status: Status
    reason: str = ""  # the platform's reason for a rejection

    def __str__(self) -> str:
        return f"{self.status.value}: {self.reason}" if self.reason else self.status.value


@dataclass(frozen=True)
class ListedItem:
    """An item as the platform holds it: what read-back compares with the intent.

    Prices are in yuan whatever the platform's unit (Pinduoduo and Douyin count fen);
    `payload` is the platform's own record of the item, in its field names."""

    platform: str
    shop_id: str
    outer_id: str
    item_id: str
    state: ItemState
    title: str
    prices: dict[str, Decimal]  # SKU code -> price
    stock: dict[str, int]  # SKU code -> units
    payload: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Published:
    """The answer to publish: the platform's item id, its state, and whether the call made
    a new item or updated one found by its outer id."""

    item_id: str
    outer_id: str
    state: ItemState
    created: bool


@dataclass(frozen=True)
class Quota:
    """A call limit of one method for one shop (the platform counts per app and shop)."""

    method: str
    per_second: float
    per_day: int


@dataclass(frozen=True)
class MarketplaceConfig:
    """Where and as whom an adapter calls. The secret signs requests and is never sent;
    none of the credentials is logged or shown (repr hides them); the access token
    stands for the shop (the sandbox takes the shop id when it is empty)."""

    base_url: str
    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)
    timeout_s: float = 10.0
    access_token: str = field(default="", repr=False)


class Marketplace(ABC):
    """One shop on one platform."""

    platform: str
    shop_id: str
    # Set by a batch run: called with the method before every call (its call limiter),
    # and asked after a page of a read failed (attempt n): seconds to wait before asking
    # again, or None to give up.
    pace: Callable[[str], None] | None = None
    read_retry: Callable[[int, ListingError], float | None] | None = None

    @abstractmethod
    def publish(self, payload: Mapping[str, Any], *, item_id: str | None = None) -> Published:
        """Create the item, or update it when the platform already holds one with the
        payload's outer id (so a retried create never lists an item twice): every create
        is preceded by a look-up. `item_id`, the platform's id of the item when known
        (from a read of the shop), is updated without a look-up."""

    @abstractmethod
    def update_stock(
        self, outer_id: str, stock: Mapping[str, int], *, item_id: str | None = None
    ) -> None:
        """Set each SKU's units (SKU code -> units); absolute, not a delta. `item_id`,
        when known, saves the look-up by outer id."""

    @abstractmethod
    def update_price(
        self, outer_id: str, prices: Mapping[str, Decimal], *, item_id: str | None = None
    ) -> None:
        """Set each SKU's price in yuan (the guard has checked it against the floor)."""

    @abstractmethod
    def delist(self, outer_id: str) -> None:
        """Take the item off sale; it stays readable."""

    @abstractmethod
    def get(self, outer_id: str) -> ListedItem | None:
        """The item with this outer id, None when the platform holds none."""

    @abstractmethod
    def items(self) -> list[ListedItem]:
        """Every item of the shop, read page by page."""

    @abstractmethod
    def quota(self) -> list[Quota]:
        """The call limits of the methods this adapter uses."""
