"""A per-key rate limit, so that one caller cannot hold the service's workers: at most
`burst` requests in any `burst / rate` seconds (rounded up to whole seconds), which
lets a quiet key send a burst and holds every key to `rate` a second over time.

The counting is the `limits` library's moving window: exact (each request's time is
kept, `burst` of them per key), in Redis when the deployment has one (a Lua script per
hit, so every API worker shares one budget per key), else in this process's memory.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from engine.access.errors import RateLimited

KEY_PREFIX = "omnistock-ratelimit"  # beside the stores' omnistock:{tenant}:... keys


class RateLimiter:
    """Hits per key id; `per_s` 0 turns the limit off."""

    def __init__(self, per_s: float, burst: int, redis_url: str | None = None) -> None:
        self.enabled = per_s > 0 and burst > 0
        window_s = max(1, math.ceil(burst / per_s)) if self.enabled else 1
        self._item = RateLimitItemPerSecond(max(burst, 1), window_s)
        self.limit = f"{burst} requests per {window_s} s"
        self._storage: Storage = (
            RedisStorage(redis_url, key_prefix=KEY_PREFIX) if redis_url else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(self._storage)

    def hit(self, key_id: str) -> None:
        """Count one request of the key; RateLimited (nothing counted) when over."""
        if not self.enabled or self._limiter.hit(self._item, key_id):
            return
        reset_at = self._limiter.get_window_stats(self._item, key_id).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(key_id, retry_after, self.limit)
