"""How a listing run reaches a shop through the marketplace accounts: the shop's adapter
(its account's address and credentials), each method's call limit, and the key its
limiter counts under (platform, app key, shop, method: the platforms count per app and
shop)."""

from __future__ import annotations

import httpx

from engine.listing.accounts import Accounts
from engine.listing.adapters import adapter_for
from engine.listing.marketplace import Marketplace, Quota
from engine.listing.pacing import pace_key

__all__ = ["HEADROOM", "AccountsReach"]

# Calls are paced at this share of a platform's per-second limit: the platform counts
# calls as they arrive, after network jitter has bunched some of them, and a call over
# its window is refused (and must wait). Day limits are used whole.
HEADROOM = 0.9


class AccountsReach:
    def __init__(self, accounts: Accounts, transport: httpx.BaseTransport | None = None) -> None:
        self.accounts = accounts
        self._transport = transport

    def connect(self, shop: str, platform: str) -> Marketplace:
        return adapter_for(
            platform, shop, self.accounts.config_for(shop, platform), self._transport
        )

    def limit(self, shop: str, platform: str, method: str) -> Quota:
        quota = self.accounts.quota(shop, platform, method)
        return Quota(quota.method, quota.per_second * HEADROOM, quota.per_day)

    def limiter_key(self, shop: str, platform: str, method: str) -> str:
        return pace_key(platform, self.accounts.app_key_of(shop), shop, method)
