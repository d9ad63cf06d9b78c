"""How each platform stacks promotions: data (stacking.yaml beside this module), checked
when it is read.

Per platform, `order` lists the three order-level kinds (shop_coupon, threshold,
platform_coupon) once each, in the order the platform applies them, and `share` says for
each whether the part of a line's share that exceeds what is left of the line is dropped
or passed on to the order's other lines. The item-level price always comes first and a
gift last; that is the guard's model, not a platform's choice, so it is not data.
"""

from __future__ import annotations

from functools import cache
from os import PathLike
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from engine.core.errors import InputError, Issue
from engine.core.io import parse_document, read_document

OrderKind = Literal["shop_coupon", "threshold", "platform_coupon"]
Share = Literal["drop", "pass_on"]
ORDER_KINDS: tuple[OrderKind, ...] = ("shop_coupon", "threshold", "platform_coupon")

STACKING_FILE = Path(__file__).with_name("stacking.yaml")


class PlatformStacking(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order: tuple[OrderKind, ...]
    share: dict[OrderKind, Share]

    @model_validator(mode="after")
    def _each_kind_once(self) -> PlatformStacking:
        if sorted(self.order) != sorted(ORDER_KINDS):
            raise ValueError(f"order lists each of {', '.join(ORDER_KINDS)} exactly once")
        if set(self.share) != set(ORDER_KINDS):
            raise ValueError(f"share names each of {', '.join(ORDER_KINDS)}")
        return self


class Stacking(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    platforms: dict[str, PlatformStacking]

    def of(self, platform: str) -> PlatformStacking:
        """The platform's stacking; an InputError for a platform the data does not know."""
        found = self.platforms.get(platform)
        if found is None:
            known = ", ".join(sorted(self.platforms))
            raise InputError(
                [Issue("platform", f"no stacking order for {platform!r}; known: {known}")]
            )
        return found


def load_stacking(path: str | PathLike[str] | None = None) -> Stacking:
    """The stacking data: stacking.yaml beside this module, or another file of its form."""
    if path is None:
        return _default()
    return parse_document(Stacking, read_document(path), source=str(path))


@cache
def _default() -> Stacking:
    return parse_document(Stacking, read_document(STACKING_FILE), source=str(STACKING_FILE))
