"""A listing job's run: every open item sent to its shop, paced inside the shop's quota,
retried with backoff where the platform's error passes with time, followed through the
platform's review, and read back at the end.

One thread per shop (calls to different shops do not wait for each other; calls to one
shop wait for its limiter anyway). The item states are written in batches by the run's
own thread a few times a second, so a run costs a handful of transactions a second, not
one per call.

Nothing is listed twice, even when a run dies and another takes over: every create is
preceded by a look-up of the outer id (Marketplace.publish), so an item a dead run made,
or a create that timed out but landed, is updated instead. A publish run first reads the
whole shop (a page holds a hundred items) so that the items it already holds are
updated without a look-up each. The look-up is not skipped for the rest: a paged read
of a shop whose items move between lists as their review passes can miss one, and
creating on the strength of that read would list it twice (seen in the benchmark).
A timed-out call may land later than the time-out, so the first backoff
(`Backoff.first_s`) must be longer than the platform takes to finish a call.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from engine.core.errors import InputError, OmnistockError
from engine.listing.adapters.shapes import SHAPES
from engine.listing.jobstore import (
    OPEN,
    TERMINAL,
    ItemRecord,
    ItemState,
    ItemUpdate,
    JobRecord,
    JobStatus,
    ListingStore,
)
from engine.listing.marketplace import (
    ErrorCode,
    ListedItem,
    ListingError,
    Marketplace,
    Quota,
    Status,
)
from engine.listing.pacing import Pacer, QuotaExhausted, QuotaZero
from engine.listing.pacing import wait as wait_for_quota
from engine.listing.readback import compare

__all__ = ["Backoff", "BatchRun", "Reach", "RunOptions", "intended_stock", "read_back", "read_shop"]

log = logging.getLogger("engine.listing")

# The job kinds: a listing of products, a stock push, a price update.
PUBLISH, STOCK, PRICE = "publish", "stock", "price"
# Differences kept in a job's summary (every one is on its item).
SHOWN_DIFFERENCES = 200


class Reach(Protocol):
    """How a run reaches a shop: its adapter, its limits and its limiter's key."""

    def connect(self, shop: str, platform: str) -> Marketplace:
        """The shop's adapter; InputError naming the shop when it cannot be reached
        (no credentials, an unknown platform)."""

    def limit(self, shop: str, platform: str, method: str) -> Quota: ...

    def limiter_key(self, shop: str, platform: str, method: str) -> str: ...


@dataclass(frozen=True)
class Backoff:
    """Retries of the errors that pass with time (rate limited, time-out, 5xx)."""

    attempts: int = 6  # calls of one item before it fails
    # After a time-out: the call may still be carried out, and the retry looks the item
    # up, so the first wait is longer than the platform takes over a call.
    first_s: float = 2.0
    # After a refusal that changed nothing (5xx, rate limited): a shorter first wait.
    quick_s: float = 0.5
    max_s: float = 120.0

    def delay(self, attempt: int, error: ListingError) -> float:
        """The wait after failed attempt `attempt` (1-based): doubling, with jitter so
        many items do not come back at once, never shorter than the platform's hint."""
        first = self.first_s if error.code == ErrorCode.TIMEOUT else self.quick_s
        base = min(self.max_s, first * 2 ** (attempt - 1))
        return max(error.retry_after_s or 0.0, base * random.uniform(1.0, 1.25))


@dataclass(frozen=True)
class RunOptions:
    backoff: Backoff = field(default_factory=Backoff)
    review_timeout_s: float = 600.0  # items still in review then are left for a refresh
    poll_every_s: float = 2.0
    flush_every_s: float = 0.25
    cancel_check_s: float = 0.5
    # A resumed run waits this long after the last sign of life of the run before, so
    # that a call that run had in flight (a create a platform still carries out after
    # the caller died) has landed before anything is looked up.
    settle_s: float = 30.0
    threads: int = 16  # shops worked at once
    senders_per_shop: int = 4  # calls in flight at once per shop


Progress = Callable[[dict[str, Counter[str]]], None]


class _SendQueue:
    """A shop's items to send, each at its time (a retry waits out its backoff), shared
    by the shop's senders. A sender leaves when nothing is queued and nothing is in
    flight: an item in flight may come back for a retry."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._busy = 0
        self._stopped = False
        self._ready = threading.Condition()

    def put(self, when: float, n: int, outer_id: str) -> None:
        with self._ready:
            heapq.heappush(self._heap, (when, n, outer_id))
            self._ready.notify_all()

    def take(self, cancel: threading.Event) -> tuple[int, str] | None:
        """The next item once its time has come; None when all is done. Raises _Stop
        when the run is cancelled."""
        with self._ready:
            while True:
                if cancel.is_set() or self._stopped:
                    raise _Stop()
                if not self._heap:
                    if self._busy == 0:
                        return None
                    self._ready.wait(0.2)
                    continue
                when, n, outer_id = self._heap[0]
                left = when - time.monotonic()
                if left > 0:
                    self._ready.wait(min(left, 0.2))
                    continue
                heapq.heappop(self._heap)
                self._busy += 1
                return n, outer_id

    def done(self) -> None:
        with self._ready:
            self._busy -= 1
            self._ready.notify_all()

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify_all()


class _Stop(Exception):
    """The run is cancelled: a shop's thread stops where it is."""


class _Shop:
    """What one shop's thread knows while it works."""

    def __init__(self, shop: str, platform: str, items: list[ItemRecord]) -> None:
        self.shop = shop
        self.platform = platform
        self.items = {item.outer_id: item for item in items}
        self.attempts = {item.outer_id: item.attempts for item in items}
        self.item_ids = {item.outer_id: item.item_id for item in items if item.item_id}
        self.calls = 0


class BatchRun:
    """One run of a listing job; `run()` works every open item and returns the job."""

    def __init__(
        self,
        store: ListingStore,
        tenant: str,
        job_id: str,
        reach: Reach,
        pacer: Pacer,
        options: RunOptions | None = None,
        on_progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.tenant = tenant
        self.job_id = job_id
        self.reach = reach
        self.pacer = pacer
        self.options = options or RunOptions()
        self.on_progress = on_progress
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._pending: list[ItemUpdate] = []
        self._states: dict[tuple[str, str], ItemState] = {}
        self._sent_stock: dict[tuple[str, str], int] = {}
        self._all: list[ItemRecord] = []
        self._calls = 0  # calls since the last flush
        self._counted_at = time.monotonic()
        self._stopped: dict[str, str] = {}  # shop -> why it stopped before its items were done

    # --- the run -------------------------------------------------------------------------

    def run(self) -> JobRecord:
        job = self.store.start_run(self.tenant, self.job_id)
        if job.cancel_requested:
            # Cancelled while it waited in the queue: it does not start (a resume clears
            # the request first).
            self._cancel.set()
            return self._end(job, JobStatus.CANCELLED, 0.0)
        self._settle(job)
        items = self.store.items(self.tenant, self.job_id)
        self._all = items
        self._states = {(i.shop, i.outer_id): i.state for i in items}
        shops: dict[tuple[str, str], list[ItemRecord]] = {}
        for item in items:
            if item.state in OPEN:
                shops.setdefault((item.shop, item.platform), []).append(item)
        started = self._counted_at = time.monotonic()
        try:
            self._work(job.kind, shops)
        except BaseException:
            self._flush()
            self._end(job, JobStatus.INTERRUPTED, time.monotonic() - started)
            raise
        self._flush()
        if self._cancel.is_set():
            status = JobStatus.CANCELLED
        elif self._stopped:
            status = JobStatus.INTERRUPTED  # a shop's day quota: resume after its reset
        else:
            status = JobStatus.FINISHED
        return self._end(job, status, time.monotonic() - started)

    def _settle(self, job: JobRecord) -> None:
        if job.beat_at is None:
            return  # the first run: nothing of this job can be in flight
        since = (datetime.now(UTC) - job.beat_at).total_seconds()
        if since < self.options.settle_s:
            log.info("listing %s: waiting %.1f s for the last run's calls", job.id, since)
            self._cancel.wait(self.options.settle_s - since)

    def _work(self, kind: str, shops: Mapping[tuple[str, str], list[ItemRecord]]) -> None:
        if not shops:
            return
        threads = max(1, min(self.options.threads, len(shops)))
        with ThreadPoolExecutor(threads, thread_name_prefix="listing") as pool:
            futures: list[Future[None]] = [
                pool.submit(self._shop, kind, _Shop(shop, platform, items))
                for (shop, platform), items in sorted(shops.items())
            ]
            next_check = 0.0
            while True:
                done, running = wait(futures, timeout=self.options.flush_every_s)
                self._flush()
                self._report()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.options.cancel_check_s
                    if self.store.cancel_requested(self.tenant, self.job_id):
                        self._cancel.set()
                if not running:
                    break
            for future in futures:
                future.result()  # a bug in a shop's thread is the run's failure

    def _end(self, job: JobRecord, status: JobStatus, seconds: float) -> JobRecord:
        counts = self.store.counts(self.tenant, self.job_id)
        summary = self._summary(job, counts, seconds)
        self.store.set_job(
            self.tenant, self.job_id, status=status, ended_at=datetime.now(UTC), summary=summary
        )
        return self.store.job(self.tenant, self.job_id)

    def _summary(
        self, job: JobRecord, counts: dict[str, dict[str, int]], seconds: float
    ) -> dict[str, Any]:
        states: Counter[str] = Counter()
        for per_shop in counts.values():
            states.update(per_shop)
        done = sum(n for state, n in states.items() if ItemState(state) in TERMINAL)
        summary: dict[str, Any] = {
            "items": sum(states.values()),
            "done": done,
            "states": dict(sorted(states.items())),
            "shops": {shop: dict(sorted(c.items())) for shop, c in sorted(counts.items())},
            "run_seconds": round(seconds, 3),
        }
        if self._stopped:
            summary["stopped"] = dict(sorted(self._stopped.items()))
        if job.kind == PUBLISH and not self._cancel.is_set():
            shops = {(item.shop, item.platform) for item in self._all}
            summary["readback"] = read_back(
                self.store,
                self.tenant,
                self.job_id,
                self.reach,
                self.pacer,
                shops,
                self.options.backoff,
            )
        return summary

    # --- one shop ------------------------------------------------------------------------

    def _shop(self, kind: str, shop: _Shop) -> None:
        try:
            market = self.reach.connect(shop.shop, shop.platform)
        except OmnistockError as error:
            self._fail_all(shop, ItemState.FAILED, "shop", str(error))
            return
        market.pace = self._pacer_of(shop)
        try:
            if kind == PUBLISH:
                self._send_and_follow(market, shop)
            else:
                self._send_all(kind, market, shop)
        except _Stop:
            return
        except QuotaExhausted as error:
            self._stop_shop(shop, error)
        except QuotaZero as error:
            self._fail_open(shop, "quota", str(error))
        except (ListingError, InputError) as error:
            # Reading the shop itself failed (not one item): its open items wait for a
            # resume, with the reason on each.
            self._fail_open(shop, "shop", f"reading the shop failed: {error}", keep_open=True)
        finally:
            close = getattr(market, "close", None)
            if close is not None:
                close()

    def _send_and_follow(self, market: Marketplace, shop: _Shop) -> None:
        """Send a shop's listings while another thread follows the review of those the
        platform has taken: reviews pass while the rest is still being sent."""
        sending = threading.Event()
        failed: list[BaseException] = []

        def follow() -> None:
            try:
                self._follow_review(market, shop, sending)
            except BaseException as error:  # raised below, in the shop's thread
                failed.append(error)

        follower = threading.Thread(target=follow, name=f"review-{shop.shop}")
        follower.start()
        try:
            self._send_all(PUBLISH, market, shop)
        except QuotaExhausted as error:
            # Its unsent items wait for the day's reset (a resume goes on with them); what
            # was sent is still followed, on the reading methods' quotas.
            self._stop_shop(shop, error)
        finally:
            sending.set()
            follower.join()
        if failed:
            raise failed[0]

    def _stop_shop(self, shop: _Shop, error: QuotaExhausted) -> None:
        with self._lock:
            self._stopped[shop.shop] = str(error)
        self._fail_open(shop, "quota", str(error), keep_open=True)

    def _pacer_of(self, shop: _Shop) -> Callable[[str], None]:
        def pace(method: str) -> None:
            quota = self.reach.limit(shop.shop, shop.platform, method)
            key = self.reach.limiter_key(shop.shop, shop.platform, method)
            if not wait_for_quota(
                self.pacer, key, quota.per_second, quota.per_day, cancelled=self._cancel.is_set
            ):
                raise _Stop()
            shop.calls += 1
            with self._lock:
                self._calls += 1

        return pace

    def _send_all(self, kind: str, market: Marketplace, shop: _Shop) -> None:
        if kind == PUBLISH:
            # What the shop holds now: a dead run's creates are updates for this one.
            for listed in _read_shop(market, self.options.backoff):
                if listed.outer_id in shop.items:
                    shop.item_ids[listed.outer_id] = listed.item_id
        queue = _SendQueue()
        for n, item in enumerate(shop.items.values()):
            if item.state in (ItemState.PENDING, ItemState.SENT):
                queue.put(0.0, n, item.outer_id)
        # Several calls in flight per shop: one slow call (a time-out) must not hold up
        # the shop's others; the limiter keeps them all inside the quota.
        senders = max(1, self.options.senders_per_shop)
        if senders == 1:
            self._drain(kind, market, shop, queue)
            return
        with ThreadPoolExecutor(senders, thread_name_prefix=f"send-{shop.shop}") as pool:
            runs = [pool.submit(self._drain, kind, market, shop, queue) for _ in range(senders)]
            for run in runs:
                try:
                    run.result()
                except BaseException:
                    queue.stop()  # the others stop too, then the first error is raised
                    raise

    def _drain(self, kind: str, market: Marketplace, shop: _Shop, queue: _SendQueue) -> None:
        backoff = self.options.backoff
        while True:
            taken = queue.take(self._cancel)
            if taken is None:
                return
            n, outer_id = taken
            try:
                self._attempt(kind, market, shop, queue, n, outer_id, backoff)
            finally:
                queue.done()

    def _attempt(
        self,
        kind: str,
        market: Marketplace,
        shop: _Shop,
        queue: _SendQueue,
        n: int,
        outer_id: str,
        backoff: Backoff,
    ) -> None:
        with self._lock:
            attempt = shop.attempts[outer_id] + 1
            shop.attempts[outer_id] = attempt
        self._put(shop, outer_id, ItemState.SENT, attempt)
        try:
            self._send(kind, market, shop, outer_id)
        except ListingError as error:
            if error.retryable and attempt < backoff.attempts:
                self._put(shop, outer_id, ItemState.PENDING, attempt, error=error)
                wait_s = backoff.delay(attempt, error)
                queue.put(time.monotonic() + wait_s, n, outer_id)
            elif error.retryable:
                said = f"still failing after {attempt} attempts: {error.message}"
                self._put(shop, outer_id, ItemState.FAILED, attempt, error=error, reason=said)
            else:
                self._put(shop, outer_id, ItemState.REJECTED, attempt, error=error)
        except (QuotaExhausted, QuotaZero):
            self._put(shop, outer_id, ItemState.PENDING, attempt - 1)
            raise
        except InputError as error:
            # The adapter refused the intent before sending (a price not in fen...).
            where = error.issues[0].path if error.issues else None
            self._put(shop, outer_id, ItemState.REFUSED, attempt, reason=str(error), field_=where)

    def _send(self, kind: str, market: Marketplace, shop: _Shop, outer_id: str) -> None:
        intent = shop.items[outer_id].intent
        attempt = shop.attempts[outer_id]
        if kind == PUBLISH:
            done = market.publish(intent, item_id=shop.item_ids.get(outer_id))
            shop.item_ids[outer_id] = done.item_id
            self._put(
                shop,
                outer_id,
                ItemState.ACCEPTED,
                attempt,
                item_id=done.item_id,
                created=done.created,
            )
            self._sent(shop, intended_stock(shop.platform, intent))
        elif kind == STOCK:
            stock = {sku: int(units) for sku, units in intent["stock"].items()}
            market.update_stock(outer_id, stock, item_id=shop.item_ids.get(outer_id))
            self._put(shop, outer_id, ItemState.UPDATED, attempt)
            self._sent(shop, stock)
        else:
            prices = {sku: Decimal(price) for sku, price in intent["prices"].items()}
            market.update_price(outer_id, prices, item_id=shop.item_ids.get(outer_id))
            self._put(shop, outer_id, ItemState.UPDATED, attempt)

    def _follow_review(self, market: Marketplace, shop: _Shop, sending: threading.Event) -> None:
        """Poll the shop while items wait for their review: until sending has ended and
        every item taken is on sale or rejected, or the review time-out passes after
        sending (those items stay in review; `listing resume` follows them later)."""
        deadline: float | None = None
        while True:
            if sending.is_set() and deadline is None:
                deadline = time.monotonic() + self.options.review_timeout_s
            waiting = {
                outer_id
                for outer_id in shop.items
                if self._state(shop, outer_id) in (ItemState.ACCEPTED, ItemState.IN_REVIEW)
            }
            if deadline is not None and (not waiting or time.monotonic() >= deadline):
                return
            # While the shop is still being sent to, poll less often: a read of the shop
            # is one call per hundred items, taken from the same quota as the sends.
            if deadline is None:
                # Woken early when the sending ends.
                sending.wait(self.options.poll_every_s * 5)
                if self._cancel.is_set():
                    raise _Stop()
            else:
                self._sleep_until(time.monotonic() + self.options.poll_every_s)
            if not waiting:
                continue
            try:
                listed = market.items()
            except ListingError as error:
                if not error.retryable:
                    raise
                continue
            for item in listed:
                if item.outer_id not in waiting:
                    continue
                state = _STATE_OF[item.state.status]
                attempt = shop.attempts[item.outer_id]
                reason = item.state.reason or None
                self._put(shop, item.outer_id, state, attempt, item_id=item.item_id, reason=reason)

    # --- states --------------------------------------------------------------------------

    def _state(self, shop: _Shop, outer_id: str) -> ItemState:
        with self._lock:
            return self._states[shop.shop, outer_id]

    def _put(
        self,
        shop: _Shop,
        outer_id: str,
        state: ItemState,
        attempts: int,
        *,
        error: ListingError | None = None,
        reason: str | None = None,
        field_: str | None = None,
        item_id: str | None = None,
        created: bool | None = None,
    ) -> None:
        update = ItemUpdate(
            shop=shop.shop,
            outer_id=outer_id,
            state=state,
            attempts=attempts,
            item_id=item_id or shop.item_ids.get(outer_id),
            created=created,
            error=error.code.value if error is not None else None,
            platform_code=(error.platform_code or None) if error is not None else None,
            reason=reason or (error.message if error is not None else None),
            field=field_ or (error.field if error is not None else None),
        )
        with self._lock:
            self._states[shop.shop, outer_id] = state
            self._pending.append(update)

    def _sent(self, shop: _Shop, stock: Mapping[str, int]) -> None:
        with self._lock:
            for sku, units in stock.items():
                self._sent_stock[shop.shop, sku] = units

    def _fail_all(self, shop: _Shop, state: ItemState, error: str, reason: str) -> None:
        for outer_id in shop.items:
            self._put(shop, outer_id, state, shop.attempts[outer_id], reason=reason)
        log.warning("shop %s: %s", shop.shop, reason)

    def _fail_open(self, shop: _Shop, what: str, reason: str, keep_open: bool = False) -> None:
        for outer_id in shop.items:
            state = self._state(shop, outer_id)
            if state in TERMINAL:
                continue
            if keep_open:
                self._put(shop, outer_id, state, shop.attempts[outer_id], reason=reason)
            else:
                self._put(shop, outer_id, ItemState.FAILED, shop.attempts[outer_id], reason=reason)
        log.warning("shop %s: %s: %s", shop.shop, what, reason)

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            sent, self._sent_stock = self._sent_stock, {}
            calls, self._calls = self._calls, 0
        now = time.monotonic()
        seconds, self._counted_at = now - self._counted_at, now
        self.store.save_items(self.tenant, self.job_id, pending)
        self.store.record_sent(self.tenant, self.job_id, sent)
        self.store.add_work(self.tenant, self.job_id, calls, seconds)

    def _report(self) -> None:
        if self.on_progress is None:
            return
        with self._lock:
            counts: dict[str, Counter[str]] = {}
            for (shop, _), state in self._states.items():
                counts.setdefault(shop, Counter())[state.value] += 1
        self.on_progress(counts)

    def _sleep_until(self, when: float) -> None:
        while True:
            if self._cancel.is_set():
                raise _Stop()
            left = when - time.monotonic()
            if left <= 0:
                return
            self._cancel.wait(min(left, 0.2))


_STATE_OF = {
    Status.ACCEPTED: ItemState.ACCEPTED,
    Status.IN_REVIEW: ItemState.IN_REVIEW,
    Status.ON_SALE: ItemState.ON_SALE,
    Status.REJECTED: ItemState.REJECTED,
    Status.DELISTED: ItemState.REJECTED,
}


def intended_stock(platform: str, payload: Mapping[str, Any]) -> dict[str, int]:
    """SKU code -> units a listing payload sets."""
    shape = SHAPES[platform]
    found: dict[str, int] = {}
    for sku in payload.get(shape.skus) or []:
        try:
            found[str(sku[shape.sku_code])] = int(sku[shape.sku_stock])
        except (KeyError, TypeError, ValueError):
            continue
    return found


def read_back(
    store: ListingStore,
    tenant: str,
    job_id: str,
    reach: Reach,
    pacer: Pacer,
    shops: set[tuple[str, str]] | None = None,
    backoff: Backoff | None = None,
) -> dict[str, Any]:
    """Every item the job sent, read from its shop now and compared field by field with
    what was sent. Accuracy is the share of sent items the platform holds exactly as
    intended; an item it does not hold is `missing`, a shop that cannot be read is named
    in `unread`. Reads are paced like any other call."""
    items = [
        item
        for item in store.items(tenant, job_id)
        if item.state not in (ItemState.REFUSED, ItemState.PENDING)
    ]
    wanted = shops if shops is not None else {(item.shop, item.platform) for item in items}
    listed: dict[tuple[str, str], ListedItem] = {}
    unread: dict[str, str] = {}
    started = time.monotonic()
    for shop, platform in sorted(wanted):
        try:
            for held in read_shop(reach, pacer, shop, platform, backoff):
                listed[shop, held.outer_id] = held
        except OmnistockError as error:  # no account, a quota used up or zero, a refusal
            unread[shop] = str(error)
    equal = 0
    differences: list[dict[str, Any]] = []
    missing: list[str] = []
    for item in items:
        if item.shop in unread:
            continue
        found = listed.get((item.shop, item.outer_id))
        if found is None:
            missing.append(f"{item.shop}/{item.outer_id}")
            continue
        diffs = compare(item.intent, found)
        equal += not diffs
        for difference in diffs[: max(0, SHOWN_DIFFERENCES - len(differences))]:
            differences.append(
                {"shop": item.shop, "outer_id": item.outer_id, "difference": str(difference)}
            )
    compared = sum(1 for item in items if item.shop not in unread)
    return {
        "items": compared,
        "equal": equal,
        "accuracy": round(equal / compared, 6) if compared else 1.0,
        "differences": differences,
        "missing": missing[:SHOWN_DIFFERENCES],
        "missing_count": len(missing),
        "unread": unread,
        "seconds": round(time.monotonic() - started, 3),
    }


def read_shop(
    reach: Reach, pacer: Pacer, shop: str, platform: str, backoff: Backoff | None = None
) -> list[ListedItem]:
    """Every item of one shop as its platform holds it, read page by page inside the
    shop's quota; OmnistockError (ListingError, QuotaExhausted, InputError...) when the
    shop cannot be read."""
    market = reach.connect(shop, platform)
    market.pace = _plain_pacer(reach, pacer, shop, platform)
    try:
        return _read_shop(market, backoff or Backoff())
    finally:
        close = getattr(market, "close", None)
        if close is not None:
            close()


def _read_shop(market: Marketplace, backoff: Backoff) -> list[ListedItem]:
    """Every item of the shop, each page asked again on errors that pass with time."""

    def again(attempt: int, error: ListingError) -> float | None:
        if not error.retryable or attempt >= backoff.attempts:
            return None
        return backoff.delay(attempt, error)

    market.read_retry = again
    return market.items()


def _plain_pacer(reach: Reach, pacer: Pacer, shop: str, platform: str) -> Callable[[str], None]:
    def pace(method: str) -> None:
        quota = reach.limit(shop, platform, method)
        wait_for_quota(
            pacer, reach.limiter_key(shop, platform, method), quota.per_second, quota.per_day
        )

    return pace
