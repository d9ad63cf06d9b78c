"""The brand contract: how the agency's fee on a brand's sales is worked out.

One YAML (or JSON) file per brand. It says which commission method applies (a percent of
settled GMV, a fixed sum plus a percent, tiers on the brand's total, or a fee per order),
whether refunds come off the GMV first, a minimum fee, and the tolerances the matching
uses. Money is a decimal string in yuan (at most two decimals, never a float: a float
would carry drift into a bill); a rate is a decimal string from 0 to 1.
"""

from __future__ import annotations

import re
from decimal import Decimal
from os import PathLike
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints
from pydantic import ValidationError as _ValidationError
from pydantic_core import PydanticCustomError

from engine.core.errors import InputError, Issue
from engine.core.io import pydantic_issues, read_document
from engine.core.snapshot import Id, Money

__all__ = [
    "Band",
    "Contract",
    "Deductions",
    "FixedPlusPercent",
    "Method",
    "OrderMap",
    "PerOrder",
    "Percent",
    "Tiered",
    "Tolerances",
    "load_contract",
    "parse_contract",
]

# Six places are enough for any rate a contract writes ("0.055" is 5.5 %) and keep a
# fee in fen exact before the one rounding.
_RATE = re.compile(r"(0|1)(\.[0-9]{1,6})?")


def _parse_rate(value: Any) -> Decimal:
    if not (isinstance(value, str) and _RATE.fullmatch(value)):
        raise PydanticCustomError(
            "rate", "a rate is a decimal string from 0 to 1 with at most 6 decimals, such as '0.05'"
        )
    rate = Decimal(value)
    if rate > 1:
        raise PydanticCustomError("rate", "a rate is at most 1")
    return rate


Rate = Annotated[Decimal, PlainValidator(_parse_rate, json_schema_input_type=str)]
Days = Annotated[int, Field(strict=True, ge=0, le=366)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Percent(_Part):
    """A share of the brand's settled GMV."""

    kind: Literal["percent"]
    rate: Rate


class FixedPlusPercent(_Part):
    """A fixed monthly sum plus a share of the settled GMV."""

    kind: Literal["fixed_plus_percent"]
    fixed: Money
    rate: Rate


class Band(_Part):
    """Up to `upto` yuan of the brand's total (inclusive); None: everything above."""

    upto: Money | None
    rate: Rate


class Tiered(_Part):
    """Rates by bands of the brand's total. `whole`: the band the total falls in sets
    the rate of all of it; `marginal`: each band's rate applies to the part inside it."""

    kind: Literal["tiered"]
    mode: Literal["whole", "marginal"]
    bands: Annotated[list[Band], Field(min_length=1)]


class PerOrder(_Part):
    """A fee per matched order."""

    kind: Literal["per_order"]
    fee: Money


Method = Annotated[Percent | FixedPlusPercent | Tiered | PerOrder, Field(discriminator="kind")]
_KINDS = ("percent", "fixed_plus_percent", "tiered", "per_order")


class Deductions(_Part):
    returns: Annotated[bool, Field(strict=True)] = True


class Tolerances(_Part):
    """How far the sources may differ before the matching calls it an exception."""

    amount: Money = Decimal("0.01")
    fee_rate: Rate = Decimal("0.006")
    fee: Money = Decimal("0.01")
    pending_days: Days = 2
    # Days per channel, where one differs from `pending_days`: an order's shop (店铺名称)
    # or a payment provider (alipay_trade, alipay_account, wechat).
    pending_by_channel: dict[Annotated[str, StringConstraints(min_length=1)], Days] = {}


class OrderMap(_Part):
    """Prefixes the payment bills put before a platform order number."""

    prefixes: list[Annotated[str, StringConstraints(strict=True, min_length=1)]] = []


class Contract(_Part):
    brand: Id
    currency: Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{3}$")] = "CNY"
    method: Method
    deductions: Deductions = Deductions()
    minimum_fee: Money | None = None
    tolerances: Tolerances = Tolerances()
    order_map: OrderMap = OrderMap()


def _band_issues(contract: Contract) -> list[Issue]:
    """Bands must climb and end open, or some part of a total would have no rate."""
    method = contract.method
    if not isinstance(method, Tiered):
        return []
    issues = []
    last = len(method.bands) - 1
    previous: Decimal | None = None
    for index, band in enumerate(method.bands):
        path = f"method.bands[{index}].upto"
        if band.upto is None:
            if index != last:
                issues.append(Issue(path, "only the last band may be open (upto: null)"))
            continue
        if index == last:
            issues.append(Issue(path, "the last band must be open (upto: null)"))
        if previous is not None and band.upto <= previous:
            issues.append(Issue(path, f"bands must ascend: {band.upto} is not above {previous}"))
        previous = band.upto
    return issues


def _untagged(issue: Issue) -> Issue:
    # pydantic puts the union's tag into the location (method.tiered.bands[0]); the
    # file has no such level, so the path names what the user wrote.
    for kind in _KINDS:
        head = f"method.{kind}"
        if (
            issue.path == head
            or issue.path.startswith(head + ".")
            or issue.path.startswith(head + "[")
        ):
            return Issue("method" + issue.path[len(head) :], issue.message)
    return issue


def parse_contract(data: Any, source: str = "") -> Contract:
    """A contract from plain data, or an InputError listing every issue with its path."""
    try:
        contract = Contract.model_validate(data)
    except _ValidationError as err:
        raise InputError([_untagged(issue) for issue in pydantic_issues(err)], source) from None
    issues = _band_issues(contract)
    if issues:
        raise InputError(issues, source)
    return contract


def load_contract(path: str | PathLike[str]) -> Contract:
    return parse_contract(read_document(path), source=str(path))
