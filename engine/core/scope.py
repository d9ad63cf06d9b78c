"""Rule scopes: which SKUs, shops and warehouses a rule applies to, and how specific it is.

A scope is a conjunction of selectors; each selector takes one value or a list (any of
them). Empty scope = everything. Masks are numpy boolean arrays over the snapshot index,
so matching never loops over cells.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _dump_one_or_many(value: list[str]) -> str | list[str]:
    return value[0] if len(value) == 1 else value


# Accepts "b1" or ["b1", "b2"]; writes a single value back as it came, so files round-trip.
OneOrMany = Annotated[
    list[str],
    BeforeValidator(_as_list),
    PlainSerializer(_dump_one_or_many, return_type=str | list[str]),
]

# Precedence between two rules of one kind (docs/rules.md): skus > category/tags > shop >
# platform > brand > global.
SPECIFICITY = {"skus": 5, "category": 4, "tags": 4, "shop": 3, "platform": 2, "brand": 1}


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    brand: OneOrMany | None = None
    platform: OneOrMany | None = None
    shop: OneOrMany | None = None
    warehouse: OneOrMany | None = None
    category: OneOrMany | None = None
    tags: list[str] | None = None
    skus: list[str] | None = None

    def specificity(self) -> int:
        return max(
            (level for name, level in SPECIFICITY.items() if getattr(self, name) is not None),
            default=0,
        )

    def references(self) -> dict[str, list[str]]:
        """Ids this scope names, by selector, for checking against the snapshot."""
        return {
            name: list(value)
            for name, value in self.model_dump(exclude_none=True).items()
            if name != "tags"
            for value in [_as_list(value)]
            if isinstance(value, list)
        }
