"""The Redis state store: what every API worker and job of a deployment shares.

Keys are `omnistock:{tenant}:...`; mode changes go out on the channel
`omnistock:{tenant}:mode`. Every check-then-write runs inside one Lua script, which Redis
executes without interleaving anything else: stock patches (compare-and-set on the stock
version), publishing (idempotency key, stock version and the new quantities at once) and
orders (check and decrement). The connection comes from the deployment's `Settings.redis_url`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from engine.core.settings import LOCAL_REDIS_URL
from engine.store.base import (
    Cell,
    Consumed,
    JsonObject,
    PublishResult,
    SharedPart,
    Store,
    StoredText,
    check_quantity,
    check_tenant,
    dumps,
    dumps_plan,
    loads_plan,
    merge_stock,
    plan_quantities,
    plan_shared,
)
from engine.store.errors import IdempotencyConflict, InsufficientStock, NotFound, StaleVersion
from engine.store.switch import ModeCallback, ModeSwitch

log = logging.getLogger(__name__)

# KEYS: snapshot, stock version. ARGV: snapshot JSON.
_PUT_SNAPSHOT = """
redis.call('SET', KEYS[1], ARGV[1])
return redis.call('INCR', KEYS[2])
"""

# KEYS: snapshot, stock version. ARGV: the version the new snapshot was made from, JSON.
# Returns {1, new version}, or {0, current version} if another write came first.
_CAS_SNAPSHOT = """
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
redis.call('SET', KEYS[1], ARGV[2])
return {1, redis.call('INCR', KEYS[2])}
"""

# KEYS: rulesets hash, latest version. ARGV: ruleset JSON.
_PUT_RULESET = """
local version = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], version, ARGV[1])
return version
"""

# KEYS: idempotency record, stock version, published hash, shared hash, listing hash.
# ARGV: body hash, plan's stock version, plan found (1/0), result JSON, number of cells,
# number of shared parts, then cell field and quantity pairs, SKU and shared units pairs,
# and the (shop, SKU) fields that list a shared part. Returns {status, detail}.
_PUBLISH = """
local stored = redis.call('HGET', KEYS[1], 'body_hash')
if stored then
  if stored == ARGV[1] then return {'replay', redis.call('HGET', KEYS[1], 'result')} end
  return {'conflict', stored}
end
if ARGV[3] ~= '1' then return {'missing', ''} end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[2]) then return {'stale', tostring(current)} end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
local cells, parts = tonumber(ARGV[5]), tonumber(ARGV[6])
local i = 7
for _ = 1, cells do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for _ = 1, parts do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for j = i, #ARGV do
  redis.call('HSET', KEYS[5], ARGV[j], '1')
end
redis.call('HSET', KEYS[1], 'body_hash', ARGV[1], 'result', ARGV[4])
return {'ok', ARGV[4]}
"""

# KEYS: published hash, shared hash, listing hash, the order's idempotency record.
# ARGV: cell field, quantity, SKU, body hash ('' without a key: nothing is recorded).
# The shop's own units first, then the SKU's shared part if the shop lists it.
# Returns {status, units left or available, units taken from the shared part}; a
# repeated key {'replay', left, from_shared} as first answered, or {'conflict', hash}.
_CONSUME = """
if ARGV[4] ~= '' then
  local stored = redis.call('HMGET', KEYS[4], 'body_hash', 'left', 'from_shared')
  if stored[1] then
    if stored[1] ~= ARGV[4] then return {'conflict', stored[1], 0} end
    return {'replay', tonumber(stored[2]), tonumber(stored[3])}
  end
end
local own = redis.call('HGET', KEYS[1], ARGV[1])
local lists = redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1
if not own and not lists then return {'missing', 0, 0} end
own = tonumber(own or '0')
local shared = 0
if lists then shared = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0') end
local quantity = tonumber(ARGV[2])
if quantity > own + shared then return {'short', own + shared, 0} end
local from_own = math.min(quantity, own)
local from_shared = quantity - from_own
if from_own > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -from_own) end
if from_shared > 0 then redis.call('HINCRBY', KEYS[2], ARGV[3], -from_shared) end
local left = own - from_own + shared - from_shared
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[4], 'body_hash', ARGV[4], 'left', left, 'from_shared', from_shared)
end
return {'ok', left, from_shared}
"""

# KEYS: the audit list. ARGV: the entry (JSON), how many entries to keep.
_APPEND_AUDIT = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
"""


def _cell_field(shop: str, sku: str) -> str:
    # JSON keeps any shop or SKU id unambiguous inside one hash field.
    return dumps([shop, sku])


class _Subscription:
    def __init__(self, pubsub: Any, thread: Any) -> None:
        self._pubsub = pubsub
        self._thread = thread

    def alive(self) -> bool:
        return bool(self._thread.is_alive())

    def close(self) -> None:
        self._thread.stop()
        self._thread.join(timeout=2)
        self._pubsub.close()


class RedisStore(Store):
    """State of one tenant in Redis. `client` must decode responses (str, not bytes) and
    stays open on `close()`; without one, a client for `url` (default: the local
    server's database 0) is made and closed with the store."""

    def __init__(self, tenant: str, client: Any = None, url: str | None = None) -> None:
        self.tenant = check_tenant(tenant)
        self.prefix = f"omnistock:{tenant}:"
        self.channel = self.prefix + "mode"
        self._owns_client = client is None
        self._client: Any = client or redis.Redis.from_url(
            url or LOCAL_REDIS_URL, decode_responses=True
        )
        self._subscriptions: list[_Subscription] = []
        self._put_snapshot = self._client.register_script(_PUT_SNAPSHOT)
        self._cas_snapshot = self._client.register_script(_CAS_SNAPSHOT)
        self._put_ruleset_script = self._client.register_script(_PUT_RULESET)
        self._publish = self._client.register_script(_PUBLISH)
        self._consume = self._client.register_script(_CONSUME)
        self._append_audit = self._client.register_script(_APPEND_AUDIT)

    def _key(self, name: str) -> str:
        return self.prefix + name

    # --- snapshot and stock version -----------------------------------------------------

    def put_snapshot(self, snapshot: JsonObject) -> int:
        keys = [self._key("snapshot"), self._key("stock_version")]
        return int(self._put_snapshot(keys=keys, args=[dumps(snapshot)]))

    def get_snapshot_text(self) -> StoredText:
        text, version = self._client.mget(self._key("snapshot"), self._key("stock_version"))
        if text is None:
            raise NotFound("snapshot", self.tenant)
        return StoredText(int(version), str(text))

    def stock_version(self) -> int:
        return int(self._client.get(self._key("stock_version")) or 0)

    def patch_stock(self, rows: list[JsonObject], version: int) -> int:
        current = self.get_snapshot()
        if current.version != version:
            raise StaleVersion("stock patch", version, current.version)
        patched = dumps(merge_stock(current.body, rows))
        keys = [self._key("snapshot"), self._key("stock_version")]
        applied, new_version = self._cas_snapshot(keys=keys, args=[version, patched])
        if not applied:
            raise StaleVersion("stock patch", version, int(new_version))
        return int(new_version)

    # --- rulesets and plans -------------------------------------------------------------

    def put_ruleset(self, ruleset: JsonObject) -> int:
        keys = [self._key("rulesets"), self._key("ruleset_version")]
        return int(self._put_ruleset_script(keys=keys, args=[dumps(ruleset)]))

    def get_ruleset_text(self, version: int | None = None) -> StoredText:
        # Versions are only ever added, each in one script with its number.
        found = (
            int(self._client.get(self._key("ruleset_version")) or 0) if version is None else version
        )
        text = self._client.hget(self._key("rulesets"), str(found))
        if text is None:
            raise NotFound("ruleset version", "latest" if version is None else str(version))
        return StoredText(found, str(text))

    def put_plan(self, plan_id: str, plan: JsonObject) -> None:
        self._client.set(self._key(f"plan:{plan_id}"), dumps_plan(plan))

    def get_plan(self, plan_id: str) -> JsonObject:
        text = self._client.get(self._key(f"plan:{plan_id}"))
        if text is None:
            raise NotFound("plan", plan_id)
        return loads_plan(text)

    def put_scenario_run(self, run_id: str, run: JsonObject) -> None:
        self._client.set(self._key(f"scenario:{run_id}"), dumps(run))

    def get_scenario_run(self, run_id: str) -> JsonObject:
        text = self._client.get(self._key(f"scenario:{run_id}"))
        if text is None:
            raise NotFound("scenario run", run_id)
        run: JsonObject = json.loads(text)
        return run

    # --- publishing and orders ----------------------------------------------------------

    def publish(
        self, plan_id: str, idempotency_key: str, body_hash: str, stock_version: int
    ) -> PublishResult:
        text = self._client.get(self._key(f"plan:{plan_id}"))
        plan = json.loads(text) if text is not None else {}
        quantities, shared = plan_quantities(plan), plan_shared(plan)
        result = PublishResult.counting(plan_id, idempotency_key, stock_version, quantities, shared)
        args: list[Any] = [body_hash, stock_version, int(text is not None), dumps(result.to_json())]
        args += [len(quantities), len(shared)]
        for (shop, sku), quantity in quantities.items():
            args += [_cell_field(shop, sku), quantity]
        for sku, part in shared.items():
            args += [sku, part.units]
        args += [_cell_field(shop, sku) for sku, part in shared.items() for shop in part.shops]
        keys = [
            self._key(f"idempotency:{idempotency_key}"),
            self._key("stock_version"),
            *self._published_keys(),
        ]
        status, detail = self._publish(keys=keys, args=args)
        if status == "conflict":
            raise IdempotencyConflict(idempotency_key, plan_id, body_hash, detail)
        if status == "missing":
            raise NotFound("plan", plan_id)
        if status == "stale":
            raise StaleVersion(f"publish of plan {plan_id!r}", stock_version, int(detail))
        return PublishResult.from_json(json.loads(detail))

    def _published_keys(self) -> list[str]:
        """Exclusive units per (shop, SKU); shared units per SKU; (shop, SKU) listings
        of a shared part."""
        return [self._key("published"), self._key("shared"), self._key("shared_listing")]

    def published(self) -> dict[Cell, int]:
        stored = self._client.hgetall(self._key("published"))
        cells: dict[Cell, int] = {}
        for field, quantity in stored.items():
            shop, sku = json.loads(field)
            cells[(shop, sku)] = int(quantity)
        return cells

    def published_shared(self) -> dict[str, SharedPart]:
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._key("shared"))
            pipe.hkeys(self._key("shared_listing"))
            units, listings = pipe.execute()
        shops: dict[str, list[str]] = {}
        for field in listings:
            shop, sku = json.loads(field)
            shops.setdefault(sku, []).append(shop)
        return {
            sku: SharedPart(int(units[sku]), tuple(sorted(shops.get(sku, []))))
            for sku in sorted(units)
        }

    def consume(
        self,
        shop: str,
        sku: str,
        quantity: int,
        idempotency_key: str | None = None,
        body_hash: str = "",
    ) -> Consumed:
        check_quantity(quantity)
        keyed = idempotency_key is not None
        # Order keys live apart from publish keys: each kind of request has its own.
        record = self._key(f"order:{idempotency_key}") if keyed else self._key("order:")
        # A key's record needs a non-empty hash to be told from "no key".
        marker = (body_hash or "-") if keyed else ""
        args: list[str | int] = [_cell_field(shop, sku), quantity, sku, marker]
        keys = [*self._published_keys(), record]
        status, units, from_shared = self._consume(keys=keys, args=args)
        if status == "conflict":
            assert idempotency_key is not None
            raise IdempotencyConflict(idempotency_key, None, body_hash, str(units), "order")
        if status == "missing":
            raise NotFound("published SKU", f"{shop}/{sku}")
        if status == "short":
            raise InsufficientStock(shop, sku, quantity, int(units))
        return Consumed(int(units), int(from_shared))

    # --- audit log --------------------------------------------------------------------

    def append_audit(self, entry: JsonObject) -> None:
        self._append_audit(keys=[self._key("audit")], args=[dumps(entry), self.audit_keep])

    def audit_entries(self, limit: int) -> list[JsonObject]:
        if limit <= 0:
            return []
        texts = self._client.lrange(self._key("audit"), 0, limit - 1)
        return [json.loads(text) for text in texts]

    # --- mode -----------------------------------------------------------------------------

    def get_mode(self) -> ModeSwitch:
        text = self._client.get(self._key("mode"))
        return ModeSwitch.from_json(json.loads(text)) if text else ModeSwitch()

    def put_mode(self, mode: ModeSwitch) -> ModeSwitch:
        text = dumps(mode.to_json())
        with self._client.pipeline(transaction=True) as pipe:
            pipe.set(self._key("mode"), text)
            pipe.publish(self.channel, text)
            pipe.execute()
        return mode

    def subscribe(self, callback: ModeCallback) -> _Subscription:
        def on_message(message: dict[str, Any]) -> None:
            try:
                callback(ModeSwitch.from_json(json.loads(message["data"])))
            except Exception:
                log.exception("mode subscriber of tenant %s failed", self.tenant)

        pubsub = self._client.pubsub()
        pubsub.subscribe(**{self.channel: on_message})
        # Wait for Redis to confirm, so no change put after this returns is missed.
        for _ in range(50):
            message = pubsub.get_message(timeout=0.1)
            if message is not None and message["type"] == "subscribe":
                break
        else:
            pubsub.close()
            raise redis.ConnectionError(f"no confirmation of subscribing to {self.channel}")

        def lost(error: BaseException, pubsub: Any, thread: Any) -> None:
            # redis-py reconnects (and subscribes again) by itself while its retries
            # last; past them, the thread ends here and the watch restarts it later
            # (engine/store/watch.py) instead of printing a traceback and dying.
            log.warning("mode subscription of tenant %s lost: %s", self.tenant, error)
            thread.stop()

        thread = pubsub.run_in_thread(sleep_time=0.05, daemon=True, exception_handler=lost)
        subscription = _Subscription(pubsub, thread)
        # A dead one has closed its connection already (its thread's last act).
        self._subscriptions = [s for s in self._subscriptions if s.alive()]
        self._subscriptions.append(subscription)
        return subscription

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions.clear()
        if self._owns_client:
            self._client.close()


def durability_gaps(url: str) -> list[str]:
    """What in the Redis at `url` lets an acknowledged change be lost in a crash: an order
    is on disk before it is answered only with `appendonly yes` and `appendfsync always`.
    Empty when both hold, or when the server does not say (CONFIG may be disabled)."""
    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=2)
    try:
        config = client.config_get("append*")
    except redis.RedisError:
        return []
    finally:
        client.close()
    gaps = []
    if config.get("appendonly") != "yes":
        gaps.append(f"appendonly is {config.get('appendonly')!r}, not 'yes'")
    elif config.get("appendfsync") != "always":
        gaps.append(f"appendfsync is {config.get('appendfsync')!r}, not 'always'")
    return gaps
