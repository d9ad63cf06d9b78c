"""The price policy document: minimum margins per brand and each shop's promotions.

    min_margin: {default: "0.10", brands: {b2: "0.15"}}
    promotions:
      - {id: tm-coupon, shop: tm-b1, kind: shop_coupon, threshold: "199.00", amount: "20.00",
         start: "2026-11-01T00:00:00+08:00", end: "2026-11-12T00:00:00+08:00"}

Money is a decimal string of at most two decimals (a float would drift); rates and margins
are decimal strings too. A promotion covers the SKU codes in `skus`, or every SKU of its
shop when `skus` is absent. It runs from `start` (inclusive) to `end` (exclusive); either
may be absent (open). `stackable_with` lists the promotions it may be combined with, or is
"all" (the default); a pair combines only when each side allows the other.

Kinds and their fields:
- item_discount {rate}: the item sells at rate x its price (折扣, "0.85" pays 85%);
- direct_cut {amount}: the item's price less amount (直降);
- shop_coupon {threshold, amount}: an order of at least threshold saves amount (threshold
  0: no threshold);
- platform_coupon {threshold, amount}: the same, paid by the platform (platform allowance,
  京贴, cross-shop coupons);
- threshold {steps: [{spend, save}], repeat, cross_shop}: 满减, the highest step the order
  reaches; with repeat (每满, one step only) every full `spend` saves `save`; cross_shop: the
  order may reach it with items of other shops;
- gift {cost}: a gift handed out with each unit, which costs the shop `cost`.

Validation reports every issue of the document at once, each under the promotion's
position and id (`promotions[3] (id tm-coupon).amount: ...`): field errors, an unknown
kind, an unknown shop (given the shop ids), an end not after the start, a rate outside
(0, 1], a `stackable_with` naming no promotion of the document, a repeated id.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from os import PathLike
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from engine.core.errors import InputError, Issue
from engine.core.io import pydantic_issues, read_document
from engine.core.snapshot import Money

Id = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^\S+$")]

# Rates and margins: up to four decimals (a 12.5% margin, an 87.5% rate) is plenty, and a
# bounded scale keeps every computation with them in whole numbers.
SCALE_PLACES = 4
SCALE = 10**SCALE_PLACES
_DECIMAL = re.compile(rf"[0-9]+(\.[0-9]{{1,{SCALE_PLACES}}})?")
_ID = re.compile(r"\S{1,64}")
# A margin above 1000% is a typo (a cost entered in fen, a margin in percent).
MAX_MARGIN = Decimal(10)


def _decimal(value: Any, kind: str) -> Decimal:
    if not (isinstance(value, str) and _DECIMAL.fullmatch(value)):
        raise PydanticCustomError(
            kind,
            "a {kind} is a decimal string with at most {places} decimals, such as '0.85'",
            {"kind": kind, "places": SCALE_PLACES},
        )
    return Decimal(value)


def _rate(value: Any) -> Decimal:
    rate = _decimal(value, "rate")
    if not Decimal(0) < rate <= Decimal(1):
        raise PydanticCustomError("rate_range", "a rate is above 0 and at most 1 (1 = no discount)")
    return rate


def _margin(value: Any) -> Decimal:
    margin = _decimal(value, "margin")
    if margin > MAX_MARGIN:
        raise PydanticCustomError("margin_range", "a margin is at most {limit}", {"limit": "10"})
    return margin


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise PydanticCustomError("positive", "must be above 0")
    return value


def _stackable(value: Any) -> list[str] | Literal["all"]:
    ids_ok = isinstance(value, list) and all(
        isinstance(item, str) and _ID.fullmatch(item) for item in value
    )
    if value != "all" and not ids_ok:
        raise PydanticCustomError("stackable", "either 'all' or a list of promotion ids")
    return "all" if value == "all" else list(value)


Rate = Annotated[Decimal, PlainValidator(_rate, json_schema_input_type=str)]
Margin = Annotated[Decimal, PlainValidator(_margin, json_schema_input_type=str)]
PositiveMoney = Annotated[Money, AfterValidator(_positive)]

KINDS = ("item_discount", "direct_cut", "shop_coupon", "platform_coupon", "threshold", "gift")
# The slot of each kind: an order takes at most one promotion per slot. A discount and a
# direct cut are both the item's own price, so they share one slot.
SLOT_OF = {
    "item_discount": "item",
    "direct_cut": "item",
    "shop_coupon": "shop_coupon",
    "platform_coupon": "platform_coupon",
    "threshold": "threshold",
    "gift": "gift",
}


def fen(money: Decimal) -> int:
    """Money (at most two decimals, as validated) in whole fen."""
    return int(money * 100)


def _iso_text(value: Any) -> Any:
    # pydantic would read a number as Unix time: an instant here is ISO 8601 text (or a
    # datetime given in Python), so 0 is refused, not taken as 1970.
    if isinstance(value, str | datetime):
        return value
    raise PydanticCustomError("instant", "an instant is ISO 8601 text with an offset")


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MinMargin(_Doc):
    default: Margin | None = None
    brands: dict[Id, Margin] = {}


class _Promotion(_Doc):
    id: Id
    shop: Id
    skus: Annotated[list[Id], Field(min_length=1)] | None = None
    start: Instant | None = None
    end: Instant | None = None
    stackable_with: Annotated[
        list[str] | Literal["all"], PlainValidator(_stackable, json_schema_input_type=Any)
    ] = "all"

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            raise PydanticCustomError(
                "window", "end {end} is not after start {start}", {"end": end, "start": start}
            )
        return end

    def active(self, at: datetime) -> bool:
        """Running at the instant `at`: start <= at < end."""
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    def stacks_with(self, other: _Promotion) -> bool:
        """This side allows `other` (the pair combines only if both sides allow it)."""
        return self.stackable_with == "all" or other.id in self.stackable_with

    def covers(self, sku: str) -> bool:
        return self.skus is None or sku in self.skus


class ItemDiscount(_Promotion):
    kind: Literal["item_discount"]
    rate: Rate


class DirectCut(_Promotion):
    kind: Literal["direct_cut"]
    amount: PositiveMoney


class ShopCoupon(_Promotion):
    kind: Literal["shop_coupon"]
    threshold: Money = Decimal(0)
    amount: PositiveMoney


class PlatformCoupon(_Promotion):
    kind: Literal["platform_coupon"]
    threshold: Money = Decimal(0)
    amount: PositiveMoney


class ThresholdStep(_Doc):
    spend: PositiveMoney
    save: PositiveMoney


class Threshold(_Promotion):
    kind: Literal["threshold"]
    steps: Annotated[list[ThresholdStep], Field(min_length=1)]
    repeat: Annotated[bool, Field(strict=True)] = False
    cross_shop: Annotated[bool, Field(strict=True)] = False

    @field_validator("steps")
    @classmethod
    def _rising(cls, steps: list[ThresholdStep]) -> list[ThresholdStep]:
        for before, after in zip(steps, steps[1:], strict=False):
            if not (after.spend > before.spend and after.save >= before.save):
                raise PydanticCustomError(
                    "steps_order",
                    "steps rise: each spends more than the one before and saves no less",
                )
        if any(step.save > step.spend for step in steps):
            # A step saving more than it spends would pay the buyer to order.
            raise PydanticCustomError("step_save", "a step saves at most what it spends")
        return steps

    @field_validator("repeat")
    @classmethod
    def _one_step(cls, repeat: bool, info: ValidationInfo) -> bool:
        steps = info.data.get("steps")
        if repeat and steps is not None and len(steps) != 1:
            raise PydanticCustomError(
                "repeat_steps", "a repeating threshold (每满) has exactly one step"
            )
        return repeat


class Gift(_Promotion):
    kind: Literal["gift"]
    cost: PositiveMoney


Promotion = Annotated[
    ItemDiscount | DirectCut | ShopCoupon | PlatformCoupon | Threshold | Gift,
    Field(discriminator="kind"),
]


class PricePolicy(_Doc):
    # The instant the document was drawn up for (the demo writes it); the guard takes its
    # own instant, this is only a default for callers.
    as_of: Instant | None = None
    min_margin: MinMargin = MinMargin()
    promotions: list[Promotion] = []

    def margin(self, brand: str) -> Decimal | None:
        """The brand's minimum margin, else the default one; None when neither is set."""
        return self.min_margin.brands.get(brand, self.min_margin.default)


def _promotion_id(data: Any, index: int) -> str | None:
    try:
        value = data["promotions"][index].get("id")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _head(data: Any, index: int) -> str:
    promotion_id = _promotion_id(data, index)
    return f"promotions[{index}]" + (f" (id {promotion_id})" if promotion_id else "")


def _field_issues(err: ValidationError, data: Any) -> list[Issue]:
    """pydantic's issues, with the promotion named by its id and no union tag in the path."""
    issues = []
    errors = err.errors(include_url=False)
    for issue, error in zip(pydantic_issues(err), errors, strict=True):
        loc = error["loc"]
        if len(loc) < 2 or loc[0] != "promotions" or not isinstance(loc[1], int):
            issues.append(issue)
            continue
        rest = list(loc[2:])
        if rest and rest[0] in KINDS:
            rest = rest[1:]
        message = issue.message
        if error["type"] == "union_tag_invalid":
            rest, message = ["kind"], f"unknown kind; known kinds: {', '.join(KINDS)}"
            if isinstance(error.get("input"), dict):
                message = f"unknown kind {error['input'].get('kind')!r}; known: {', '.join(KINDS)}"
        elif error["type"] == "union_tag_not_found":
            rest, message = ["kind"], f"required field is missing; one of {', '.join(KINDS)}"
        path = _head(data, loc[1])
        for part in rest:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        issues.append(Issue(path, message))
    return issues


def _reference_issues(data: Any, shop_ids: Collection[str] | None) -> list[Issue]:
    """Repeated ids, unknown shops and unknown stackable_with ids, read from the raw
    document so that they are reported beside the field errors of the same promotion."""
    promotions = data.get("promotions") if isinstance(data, dict) else None
    if not isinstance(promotions, list):
        return []
    issues: list[Issue] = []
    first: dict[str, int] = {}
    for index, item in enumerate(promotions):
        promotion_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(promotion_id, str):
            seen = first.setdefault(promotion_id, index)
            if seen != index:
                message = f"duplicate id {promotion_id!r} (first at promotions[{seen}])"
                issues.append(Issue(f"{_head(data, index)}.id", message))
    for index, item in enumerate(promotions):
        if not isinstance(item, dict):
            continue
        head = _head(data, index)
        shop = item.get("shop")
        if shop_ids is not None and isinstance(shop, str) and shop not in shop_ids:
            issues.append(Issue(f"{head}.shop", f"unknown shop {shop!r}"))
        stack = item.get("stackable_with")
        if isinstance(stack, list):
            for position, other in enumerate(stack):
                if isinstance(other, str) and other not in first:
                    message = f"names no promotion of the document: {other!r}"
                    issues.append(Issue(f"{head}.stackable_with[{position}]", message))
    return issues


def _order(issue: Issue) -> tuple[int, str]:
    # Issues of one promotion together, in document order.
    found = re.match(r"promotions\[(\d+)\]", issue.path)
    return (int(found.group(1)) if found else -1, issue.path)


def parse_policy(
    data: Any, shop_ids: Collection[str] | None = None, source: str = ""
) -> PricePolicy:
    """The policy from plain data, or an InputError listing every issue. With `shop_ids`,
    a promotion of any other shop is an issue."""
    issues: list[Issue] = []
    policy = None
    try:
        policy = PricePolicy.model_validate(data)
    except ValidationError as err:
        issues.extend(_field_issues(err, data))
    issues.extend(_reference_issues(data, shop_ids))
    if issues or policy is None:
        raise InputError(sorted(issues, key=_order), source)
    return policy


def load_policy(path: str | PathLike[str], shop_ids: Collection[str] | None = None) -> PricePolicy:
    """A policy file (.yaml, .yml or .json)."""
    return parse_policy(read_document(path), shop_ids, source=str(path))
