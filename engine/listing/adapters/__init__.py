"""One adapter per marketplace wire shape, behind engine.listing.marketplace.Marketplace.

`adapter_for` picks the adapter of a shop's platform: TOP for Taobao and Tmall, and one
each for JD, Pinduoduo and Douyin.
"""

from __future__ import annotations

import httpx

from engine.core.errors import InputError, Issue
from engine.listing.adapters.base import WireAdapter
from engine.listing.adapters.douyin import DouyinMarketplace
from engine.listing.adapters.jd import JdMarketplace
from engine.listing.adapters.pdd import PddMarketplace
from engine.listing.adapters.top import TopMarketplace
from engine.listing.marketplace import MarketplaceConfig

__all__ = ["ADAPTERS", "adapter_for"]

ADAPTERS: dict[str, type[WireAdapter]] = {
    "taobao": TopMarketplace,
    "tmall": TopMarketplace,
    "jd": JdMarketplace,
    "pdd": PddMarketplace,
    "douyin": DouyinMarketplace,
}


def adapter_for(
    platform: str,
    shop_id: str,
    config: MarketplaceConfig,
    transport: httpx.BaseTransport | None = None,
) -> WireAdapter:
    """The adapter of one shop; InputError naming the shop for an unknown platform or a
    shop with no credentials."""
    issues: list[Issue] = []
    if platform not in ADAPTERS:
        issues.append(Issue("platform", f"unknown platform {platform!r}: {', '.join(ADAPTERS)}"))
    if not config.base_url:
        issues.append(Issue("base_url", "no marketplace address"))
    if not config.app_key or not config.app_secret:
        issues.append(Issue("credentials", "no app key and secret for this shop"))
    if config.timeout_s <= 0:
        issues.append(Issue("timeout_s", "a time-out above 0 seconds"))
    if issues:
        raise InputError(issues, f"shop {shop_id}")
    return ADAPTERS[platform](platform, shop_id, config, transport)
