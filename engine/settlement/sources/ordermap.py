"""Which platform order a provider record is for.

A bill writes the shop's merchant order number, which carries the platform order id
behind a prefix that differs by shop and business type (T200P..., T10000P...); some
account-bill rows only name the order inside braces or brackets in their 备注. The
prefixes are data, so a shop with another scheme is a setting, not a code change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

__all__ = ["DEFAULT_PATTERNS", "OrderMap"]

# Each pattern's first group is the order id; the first pattern that matches wins.
DEFAULT_PATTERNS: tuple[str, ...] = (r"^T\d+P(\d+)$", r"^(\d+)$")

# An id inside {...}, [...] or 【...】 in a note.
_BRACKETED = r"[{\[【]\s*([^}\]】\s]+)\s*[}\]】]"
# Several ids in one bracket, separated by commas (full-width ones are made ASCII first).
_LISTED = r"[{\[【]\s*([^}\]】,]+(?:\s*,\s*[^}\]】,]+)+)\s*[}\]】]"


@dataclass(frozen=True)
class OrderMap:
    patterns: tuple[str, ...] = DEFAULT_PATTERNS

    def __post_init__(self) -> None:
        for pattern in self.patterns:
            if re.compile(pattern).groups < 1:
                raise ValueError(f"order map pattern {pattern!r} needs a group for the order id")

    def order_id(self, number: pl.Expr) -> pl.Expr:
        """The platform order id a merchant order number maps to; null when none."""
        return pl.coalesce([number.str.extract(pattern, 1) for pattern in self.patterns])

    def from_note(self, note: pl.Expr) -> pl.Expr:
        """The order id named in brackets in a note (itself mapped); null when none."""
        return self.order_id(note.str.extract(_BRACKETED, 1))

    def combined(self, note: pl.Expr) -> pl.Expr:
        """The orders a combined payment names in one bracket of its note ({111,222}),
        each mapped (an id no pattern maps is kept as written, so the matching can name
        it); an empty list unless the bracket holds two or more."""
        ids = (
            note.str.replace_all("，", ",", literal=True)
            .str.extract(_LISTED, 1)
            .str.split(",")
            .list.eval(pl.element().str.strip_chars())
            .list.eval(pl.coalesce(self.order_id(pl.element()), pl.element()))
        )
        return pl.when(ids.list.len() >= 2).then(ids).otherwise(pl.lit([], pl.List(pl.String())))
