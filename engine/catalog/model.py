"""The product master: one record per product (SPU) with its SKUs, held once per brand.

Two kinds of data, as agencies keep them: base data the warehouse uses (SKU code,
barcode, weight, dimensions, unit, shelf life) and channel data every platform shares
(title, category path, season, options, prices, images, description, attributes).
Each platform's listing payload is made from this record (engine/catalog/payload.py);
nothing here is specific to a platform.

A record is immutable; a change is a new record, stored as a new version
(engine/catalog/store.py). `content_hash` is what makes imports idempotent: the same
record twice is one version.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from engine.core.limits import MAX_DAYS
from engine.core.snapshot import Money

# A code: the SKU codes are the snapshot's SKU ids (商家编码 / outer_id on the platforms).
Code = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^\S+$")]
# A brand or SPU code is also a path segment (`b1/B1-P00002`, /v1/catalog/products/b1/...):
# no slash.
Key = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[^\s/]+$")
]
Text = Annotated[str, StringConstraints(strict=True, max_length=200_000)]
Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]
# Millimetres and grams: a pallet-sized item is 3,000 mm and 1,000,000 g; the bound only
# keeps typos (an extra three zeros) out.
Millimetres = Annotated[int, Field(strict=True, ge=0, le=100_000)]
Grams = Annotated[int, Field(strict=True, ge=0, le=100_000_000)]
ShelfLifeDays = Annotated[int, Field(strict=True, ge=0, le=int(MAX_DAYS))]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SkuRecord(_Record):
    """One SKU of a product: its base data and its own channel data (spec, prices)."""

    sku_code: Code
    barcode: str = ""
    # Option name -> value, such as {"colour": "black", "size": "42"}.
    spec: dict[Name, Name] = {}
    list_price: Money
    cost: Money | None = None
    # An explicit price floor; None: cost x (1 + the brand's minimum margin).
    floor_price: Money | None = None
    weight_g: Grams | None = None
    length_mm: Millimetres | None = None
    width_mm: Millimetres | None = None
    height_mm: Millimetres | None = None
    unit: str = "件"
    shelf_life_days: ShelfLifeDays | None = None
    images: list[Text] = []


class Product(_Record):
    """A product (SPU) of one brand with its SKUs."""

    brand: Key
    spu_code: Key
    title: Text
    # The master category path, broad to narrow: ["shoes", "running"].
    category: list[Name] = Field(min_length=1)
    year: Annotated[int, Field(strict=True, ge=1900, le=2200)] | None = None
    season: str = ""
    series: str = ""
    description: Text = ""
    images: list[Text] = []
    attributes: dict[Name, Text] = {}
    skus: list[SkuRecord] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_skus(self) -> Product:
        seen: set[str] = set()
        for sku in self.skus:
            if sku.sku_code in seen:
                raise ValueError(f"SKU code {sku.sku_code!r} appears twice in the product")
            seen.add(sku.sku_code)
        return self

    @property
    def options(self) -> dict[str, list[str]]:
        """Option name -> its values in first-seen order (the spec grid of the SKUs)."""
        grid: dict[str, list[str]] = {}
        for sku in self.skus:
            for name, value in sku.spec.items():
                values = grid.setdefault(name, [])
                if value not in values:
                    values.append(value)
        return grid

    def body(self) -> dict[str, Any]:
        """The record as a JSON document (money as decimal strings)."""
        return self.model_dump(mode="json", exclude_defaults=False)

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: equal records, equal hashes."""
        canonical = json.dumps(self.body(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def changes(old: Product | None, new: Product) -> list[str]:
    """What changed from `old` to `new`, as field paths (`title`, `skus[X1].cost`,
    `+skus[X2]`, `-skus[X3]`); ["created"] for a first version."""
    if old is None:
        return ["created"]
    out: list[str] = []
    before, after = old.body(), new.body()
    for key in after:
        if key != "skus" and before.get(key) != after[key]:
            out.append(key)
    old_skus = {s["sku_code"]: s for s in before["skus"]}
    new_skus = {s["sku_code"]: s for s in after["skus"]}
    for code, sku in new_skus.items():
        if code not in old_skus:
            out.append(f"+skus[{code}]")
            continue
        out.extend(f"skus[{code}].{k}" for k in sku if old_skus[code].get(k) != sku[k])
    out.extend(f"-skus[{code}]" for code in old_skus if code not in new_skus)
    return out


def effective_floor(sku: SkuRecord, min_margin: Decimal | None) -> Decimal | None:
    """The SKU's price floor: explicit, else cost x (1 + min_margin) rounded up to the fen;
    None when neither is known (the guard then reports the SKU as unguarded)."""
    if sku.floor_price is not None:
        return sku.floor_price
    if sku.cost is None or min_margin is None:
        return None
    floor = sku.cost * (1 + min_margin)
    return floor.quantize(Decimal("0.01"), rounding="ROUND_CEILING")
