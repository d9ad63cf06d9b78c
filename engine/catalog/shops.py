"""The shops the catalog lists on, with the settings their platforms' listings need.

A product carries what every platform shares; what belongs to a shop - where it ships
from, its freight template, its service phone - is set once per shop here and filled
into that shop's payloads (the `{"shop": ...}` mappings of the platform files).
The shops document (shops.yaml, `PUT /v1/catalog/shops`):

    shops:
      - {id: tm-b1, brand: b1, platform: tmall,
         settings: {location.state: 上海, location.city: 上海, freight_template_id: ft-1}}
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from engine.catalog.model import Code
from engine.core.errors import InputError, Issue
from engine.core.io import dotted_path

Setting = Annotated[str, StringConstraints(strict=True, max_length=1000)] | int


class Shop(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Code
    brand: Code
    platform: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]+$")]
    settings: dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], Setting] = {}


class ShopsDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    shops: list[Shop] = Field(max_length=10_000)


def parse_shops(doc: Any, platforms: set[str], source: str = "shops") -> list[Shop]:
    """The shops of a document, each on a platform of the registry, ids unique; every
    problem at once (InputError naming `shops[i].field`)."""
    try:
        shops = ShopsDocument.model_validate(doc).shops
    except ValidationError as error:
        found = [Issue(dotted_path(e["loc"]), e["msg"]) for e in error.errors()]
        raise InputError(found, source) from None
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for i, shop in enumerate(shops):
        if shop.platform not in platforms:
            known = ", ".join(sorted(platforms))
            issues.append(
                Issue(f"shops[{i}].platform", f"unknown platform {shop.platform!r}: {known}")
            )
        if shop.id in seen:
            issues.append(
                Issue(f"shops[{i}].id", f"shop {shop.id!r} is also shops[{seen[shop.id]}]")
            )
        seen.setdefault(shop.id, i)
    if issues:
        raise InputError(issues, source)
    return shops
