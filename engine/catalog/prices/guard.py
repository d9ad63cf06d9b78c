"""The price guard: the lowest price each SKU can reach in each of its shops when a buyer
stacks the shop's promotions, against the SKU's price floor.

What it assumes (each a choice about how platforms work, written down here once):

- Floors. A SKU's floor is its explicit floor price, else its cost x (1 + its brand's
  minimum margin, else the default one) rounded up to the fen
  (engine.catalog.model.effective_floor). A SKU with neither is reported `unguarded`,
  with its lowest price still computed.
- Prices. The base price is the SKU's list price, or the price a shop lists it at
  (`listed_prices`, as read back from the marketplace). Everything is in whole fen.
- Which promotions combine. A promotion runs at the instant `at` when start <= at < end.
  An order takes at most one promotion of each slot: one item-level price (an item
  discount or a direct cut), one shop coupon, one threshold discount, one platform
  coupon and one gift; and two promotions combine only when each allows the other
  (`stackable_with`). The order's item-level promotion prices every line it covers.
- In what order. The item-level price first: a discount pays rate x price rounded down
  to the fen, a direct cut the price less the cut, never below 0. Then the order-level
  discounts in the platform's order (stacking.yaml). A coupon or threshold applies when
  the value of the lines it covers, at their item-level prices, reaches its threshold; a
  threshold saves its highest step reached, or every full `spend` when it repeats. Its
  amount is shared over the lines it covers in proportion to that value; a line pays
  never less than 0, and what a line cannot take is dropped or passed on to the other
  lines as the platform's `share` says. Last, a gift's cost lowers the net price of each
  unit it comes with (the net price may then go below 0: the gift costs what it costs).
- Rounding. Each share is the exact pro-rata share rounded to the fen by largest
  remainder: every line gets its share rounded down, and the fen left over go one each
  to the lines with the largest fractions, the guarded SKU's line first on a tie (the
  worst case for it). In a basket of two lines the SKU's share is then its exact share
  rounded half up. The price of one unit is the line's net amount / units, rounded down
  to the fen, so "lowest < floor" is exactly "line net < units x floor".

What it searches. For each (SKU, shop), every allowed combination of the shop's active
promotions whose item-level promotion covers the SKU (or none), evaluated at once over
the shop's SKUs as integer arrays; in each, the worst basket: k units of the SKU
(1 <= k <= max_units) alone, or with m units of one filler, one of the `fillers` cheapest
SKUs of the shop (at item-level price) for each set of the combination's order-level
promotions that covers it. m is the least that reaches each threshold of the combination
and each higher step (a repeating threshold: its first `multiples` multiples): between
two such points more filler only dilutes the SKU's share, so nothing in between can be
lower. The lowest price found is a real basket's price, reported with the basket and
every step.

What it proves. The bound: for each combination, the price if the basket could reach
each threshold exactly, whatever fills it (the SKU's share of a discount is at most the
discount x price / max(threshold, price), rounded up). It is a lower bound of the SKU's
price in every order whatever its lines, of this shop or (for cross-shop thresholds) of
others taken at their listed prices; where a pass-on step could push another line's
excess onto the SKU (discounts that together may exceed a line's value), the bound gives
that step all that is left of the SKU. Status: `breach` when the lowest price found is
below the floor, `may_breach` when only the bound is, `ok` otherwise.

Combinations are explored in the order of their bounds, and a combination is evaluated
only for the SKUs whose bound in it is below the lowest price found so far: the bound
never exceeds a price, so nothing lower is skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, overload

import numpy as np

from engine.catalog.model import Product, effective_floor
from engine.catalog.prices.policy import (
    SCALE,
    SLOT_OF,
    DirectCut,
    Gift,
    ItemDiscount,
    PlatformCoupon,
    PricePolicy,
    Promotion,
    ShopCoupon,
    Threshold,
    fen,
)
from engine.catalog.prices.stacking import PlatformStacking, Share, Stacking, load_stacking
from engine.core.errors import InputError, Issue
from engine.core.snapshot import Shop

Status = Literal["ok", "breach", "may_breach", "unguarded"]
STATUSES: tuple[Status, ...] = ("ok", "breach", "may_breach", "unguarded")
NO_FLOOR = -1
# No basket yet (and a price no SKU reaches): above every fen amount the limits allow.
_INF = 2**62
# int64 holds every product the guard forms (amount x value) while the values stay below
# this; a shop with larger prices is computed with Python integers, slower but exact.
_INT64_VALUES = 2**30
Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class SkuArrays:
    """The SKUs to guard, as parallel columns: code, brand, list price and floor in fen
    (NO_FLOOR where the SKU has none)."""

    code: tuple[str, ...]
    brand: tuple[str, ...]
    list_fen: Array
    floor_fen: Array

    def __post_init__(self) -> None:
        sizes = {len(self.code), len(self.brand), len(self.list_fen), len(self.floor_fen)}
        if len(sizes) != 1:
            raise InputError([Issue("skus", "code, brand, list price and floor differ in length")])
        issues = []
        seen: dict[str, int] = {}
        for index, code in enumerate(self.code):
            first = seen.setdefault(code, index)
            if first != index:
                issues.append(Issue(f"skus[{index}]", f"duplicate SKU code {code!r}"))
        if len(self.list_fen) and int(np.min(self.list_fen)) < 0:
            issues.append(Issue("skus", "a list price is below 0"))
        if issues:
            raise InputError(issues)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, int, int | None]]) -> SkuArrays:
        """From (code, brand, list price fen, floor fen or None) rows."""
        table = list(rows)
        return cls(
            code=tuple(row[0] for row in table),
            brand=tuple(row[1] for row in table),
            list_fen=np.array([row[2] for row in table], dtype=np.int64),
            floor_fen=np.array(
                [NO_FLOOR if row[3] is None else row[3] for row in table], dtype=np.int64
            ),
        )

    def __len__(self) -> int:
        return len(self.code)


def sku_arrays(products: Iterable[Product], policy: PricePolicy) -> SkuArrays:
    """The guard's input from product records: floors from each SKU's floor price or
    cost and its brand's minimum margin."""
    rows = []
    for product in products:
        margin = policy.margin(product.brand)
        for sku in product.skus:
            floor = effective_floor(sku, margin)
            floor_fen = None if floor is None else fen(floor)
            rows.append((sku.sku_code, product.brand, fen(sku.list_price), floor_fen))
    return SkuArrays.of(rows)


@dataclass(frozen=True)
class Step:
    """One promotion applied: the price of one unit of the SKU after it, in fen."""

    promotion: str
    kind: str
    price: int


@dataclass(frozen=True)
class Basket:
    """The order that reaches the lowest price: the SKU's units, the filler SKU and its
    units (None, 0: the SKU alone) and the order's value at item-level prices."""

    sku_qty: int
    filler: str | None
    filler_qty: int
    total: int


@dataclass(frozen=True)
class GuardRow:
    sku: str
    shop: str
    brand: str
    platform: str
    base: int
    floor: int | None
    lowest: int
    bound: int
    status: Status
    steps: tuple[Step, ...]
    basket: Basket

    def as_dict(self) -> dict[str, Any]:
        """The row with money as decimal strings (yuan)."""
        return {
            "sku": self.sku,
            "shop": self.shop,
            "brand": self.brand,
            "platform": self.platform,
            "base": yuan(self.base),
            "floor": None if self.floor is None else yuan(self.floor),
            "lowest": yuan(self.lowest),
            "bound": yuan(self.bound),
            "status": self.status,
            "steps": [
                {"promotion": s.promotion, "kind": s.kind, "price": yuan(s.price)}
                for s in self.steps
            ],
            "basket": {
                "sku_qty": self.basket.sku_qty,
                "filler": self.basket.filler,
                "filler_qty": self.basket.filler_qty,
                "total": yuan(self.basket.total),
            },
        }


def yuan(amount: int) -> str:
    """Fen as a decimal string: 12345 -> '123.45', -5 -> '-0.05'."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(int(amount)), 100)
    return f"{sign}{whole}.{cents:02d}"


class GuardResult:
    """Every (SKU, shop) row, built when read (a catalog has hundreds of thousands), the
    counts per status, and warnings about the input (promotions naming unknown SKUs)."""

    def __init__(self, shops: list[_ShopGuard], warnings: list[str]) -> None:
        self._shops = shops
        self._offsets = np.cumsum([0] + [s.n for s in shops])
        self.warnings = tuple(warnings)
        self.rows: Sequence[GuardRow] = _Rows(self)
        counts: dict[str, int] = {status: 0 for status in STATUSES}
        for shop in shops:
            for status, count in shop.counts().items():
                counts[status] += count
        self.summary: dict[str, int] = {"rows": int(self._offsets[-1]), **counts}

    def row(self, index: int) -> GuardRow:
        if not 0 <= index < len(self):
            raise IndexError(index)
        shop = int(np.searchsorted(self._offsets, index, side="right")) - 1
        return self._shops[shop].row(index - int(self._offsets[shop]))

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def breaches(self, may: bool = True) -> list[GuardRow]:
        """The rows below their floor: `breach`, and `may_breach` unless may=False."""
        wanted = ("breach", "may_breach") if may else ("breach",)
        return [
            shop.row(int(i)) for shop in self._shops for i in np.flatnonzero(shop.status_in(wanted))
        ]


class _Rows(Sequence[GuardRow]):
    def __init__(self, result: GuardResult) -> None:
        self._result = result

    def __len__(self) -> int:
        return len(self._result)

    @overload
    def __getitem__(self, index: int) -> GuardRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[GuardRow]: ...
    def __getitem__(self, index: int | slice) -> GuardRow | Sequence[GuardRow]:
        if isinstance(index, slice):
            return [self._result.row(i) for i in range(*index.indices(len(self)))]
        return self._result.row(index if index >= 0 else index + len(self))

    def __iter__(self) -> Iterator[GuardRow]:
        return (self._result.row(i) for i in range(len(self)))


@dataclass(eq=False)
class _Promo:
    """One active promotion of a shop, in fen, with its coverage over the shop's SKUs."""

    id: str
    kind: str
    slot: str
    cover: Array  # bool per SKU of the shop
    everywhere: bool
    stack: frozenset[str] | None  # None: stacks with all
    rate: int = SCALE  # item_discount: rate x SCALE
    cut: int = 0
    cost: int = 0
    spends: tuple[int, ...] = ()  # coupons: one step (threshold, amount)
    saves: tuple[int, ...] = ()
    repeat: bool = False
    cross_shop: bool = False
    share: Share = "drop"

    @property
    def threshold(self) -> int:
        return self.spends[0]

    def allows(self, other: _Promo) -> bool:
        both = (self.stack is None or other.id in self.stack) and (
            other.stack is None or self.id in other.stack
        )
        return both

    def item_price(self, base: Array) -> Array:
        if self.kind == "item_discount":
            return (base * self.rate) // SCALE
        return np.maximum(base - self.cut, 0)

    def discount(self, value: Array) -> Array:
        """What the order saves when the lines it covers are worth `value`."""
        if self.repeat:
            return (value // self.spends[0]) * self.saves[0]
        out = (value >= self.spends[0]) * self.saves[0]
        for i in range(1, len(self.spends)):
            out = out + (value >= self.spends[i]) * (self.saves[i] - self.saves[i - 1])
        return out

    def breakpoints(self, multiples: int) -> list[int]:
        """The values at which the discount steps up."""
        if self.repeat:
            return [self.spends[0] * n for n in range(1, multiples + 1)]
        return list(self.spends)

    def upper_share(self, price: Array, least: Array) -> Array:
        """The most a line of one unit at `price` can take of this discount in an order
        worth at least `least` (>= price): price x the best ratio over the order values
        that reach the threshold, rounded up."""
        if self.repeat:
            return -((-price * self.saves[0]) // self.spends[0])
        best = np.zeros_like(price)
        for spend, save in zip(self.spends, self.saves, strict=True):
            over = np.maximum(np.maximum(least, spend), 1)
            best = np.maximum(best, -((-price * save) // over))
        return best

    def ratios(self, value: Array) -> Array:
        """The highest discount / order value over orders worth at least `value` (and
        the threshold), for many values at once, in floats."""
        if self.repeat:
            return np.full(len(value), self.saves[0] / self.spends[0])
        best = np.zeros(len(value))
        for spend, save in zip(self.spends, self.saves, strict=True):
            best = np.maximum(best, save / np.maximum(np.maximum(value, spend), 1.0))
        return best


@dataclass(eq=False)
class _Combo:
    """An allowed combination: the item-level promotion (or None), the order-level ones in
    the platform's order, and the gifts that stack with all of them."""

    item: _Promo | None
    steps: tuple[_Promo, ...]
    gifts: tuple[_Promo, ...]


def _promo(p: Promotion, local: Mapping[str, int], n: int, share: PlatformStacking) -> _Promo:
    cover = np.ones(n, dtype=bool) if p.skus is None else np.zeros(n, dtype=bool)
    if p.skus is not None:
        cover[[local[code] for code in p.skus if code in local]] = True
    stack = None if p.stackable_with == "all" else frozenset(p.stackable_with)
    out = _Promo(p.id, p.kind, SLOT_OF[p.kind], cover, p.skus is None, stack)
    if isinstance(p, ItemDiscount):
        out.rate = int(p.rate * SCALE)
    elif isinstance(p, DirectCut):
        out.cut = fen(p.amount)
    elif isinstance(p, ShopCoupon | PlatformCoupon):
        out.spends, out.saves = (fen(p.threshold),), (fen(p.amount),)
    elif isinstance(p, Threshold):
        out.spends = tuple(fen(s.spend) for s in p.steps)
        out.saves = tuple(fen(s.save) for s in p.steps)
        out.repeat = p.repeat
        out.cross_shop = p.cross_shop
    elif isinstance(p, Gift):
        out.cost = fen(p.cost)
    for kind, how in share.share.items():
        if kind == out.slot:
            out.share = how
    return out


def _ceil_div(num: Array, den: Array) -> Array:
    return -((-np.maximum(num, 0)) // den)


class _ShopGuard:
    """The guard's search over one shop's SKUs."""

    def __init__(
        self,
        shop: Shop,
        stacking: PlatformStacking,
        codes: tuple[str, ...],
        base: Array,
        floor: Array,
        promos: list[_Promo],
        max_units: int,
        fillers: int,
        multiples: int,
    ) -> None:
        self.shop, self.stacking, self.codes = shop, stacking, codes
        self.n = len(codes)
        self.K, self.F, self.R = max_units, fillers, multiples
        self.promos = promos
        items = [p for p in promos if p.slot == "item"]
        self.prices: dict[str | None, Array] = {None: base}
        for p in items:
            self.prices[p.id] = np.where(p.cover, p.item_price(base), base)
        biggest = max(
            [int(base.max()) if self.n else 0] + [max(p.spends, default=0) for p in promos]
        )
        saves = max([max(p.saves, default=0) for p in promos] + [0])
        breaks = max([max(p.breakpoints(self.R), default=0) for p in promos] + [0])
        scale = (self.K + 2) * biggest + breaks + saves + 1
        # Python integers where int64 could overflow (prices beyond ten million yuan).
        self.dtype: Any = np.int64 if scale < _INT64_VALUES else object
        self.prices = {key: value.astype(self.dtype) for key, value in self.prices.items()}
        self.base = self.prices[None]
        self.floor = floor
        positive = [v[v > 0] for v in self.prices.values()]
        self.qmin = min([int(v.min()) for v in positive if len(v)] + [_INF])
        self.combos = self._combos(items)
        self.best = np.full(self.n, _INF, dtype=self.dtype)
        self.bound = np.full(self.n, _INF, dtype=self.dtype)
        self.combo_of = np.zeros(self.n, dtype=np.int64)
        self.k_of = np.ones(self.n, dtype=np.int64)
        self.filler_of = np.full(self.n, -1, dtype=np.int64)
        self.m_of = np.zeros(self.n, dtype=np.int64)
        self.gift_of = np.full(self.n, -1, dtype=np.int64)
        self._filler_cache: dict[tuple[Any, ...], list[tuple[tuple[bool, ...], Array]]] = {}
        self._gift_cache: dict[tuple[str, ...], tuple[Array, Array]] = {}
        self._search()
        self.status = self._statuses()

    # -- combinations --------------------------------------------------------------

    def _combos(self, items: list[_Promo]) -> list[_Combo]:
        by_slot = {kind: [p for p in self.promos if p.slot == kind] for kind in self.stacking.order}
        gifts = [p for p in self.promos if p.slot == "gift"]
        choices = [[None, *items]] + [[None, *by_slot[kind]] for kind in self.stacking.order]
        combos = []
        for pick in itertools.product(*choices):
            members = [p for p in pick if p is not None]
            if not all(a.allows(b) for a, b in itertools.combinations(members, 2)):
                continue
            steps = tuple(p for p in pick[1:] if p is not None)
            allowed = tuple(g for g in gifts if all(g.allows(m) for m in members))
            combos.append(_Combo(pick[0], steps, allowed))
        return combos

    def _loose(self, steps: tuple[_Promo, ...], q: Array) -> list[Array]:
        """Per step, per SKU (item-level prices q): may a pass-on hand another line's
        excess to the SKU? Then the bound gives that step all that is left of the SKU.

        A line passes on only when what is left of it is less than its exact share. At
        the first step every line's share is the same fraction of its value, so either
        none passes on or all are used up. Later, a line has left at least its value x
        (1 - the ratios of the discounts so far) less a fen of rounding per earlier step,
        so no line passes on while the cheapest line's value x (1 - the ratios up to this
        step) is at least the number of earlier steps. A ratio is the discount's best over
        the orders it can apply to: worth at least its threshold and the cheapest line;
        when every step so far covers the whole shop they all see one order value, which
        also reaches every (not cross-shop) threshold of the combination and the SKU's
        own price. Computed in floats with a margin on the side of "may".
        """
        qmin = max(self.qmin, 1) if self.qmin < _INF else 1
        local = [s.threshold for s in steps if not s.cross_shop]
        common = np.maximum(float(max([qmin, *local])), q.astype(np.float64))
        uniform: Array | float = 0.0
        mixed = 0.0
        out = []
        for position, step in enumerate(steps):
            uniform = uniform + step.ratios(common)
            mixed += float(step.ratios(np.array([float(qmin)]))[0])
            ratios = uniform if all(s.everywhere for s in steps[: position + 1]) else mixed
            margin = 1e-9 * (qmin + position)
            passes = step.share == "pass_on" and position > 0
            out.append(passes & (qmin * (1 - np.asarray(ratios)) < position + margin))
        return out

    def _gifts(self, combo: _Combo) -> tuple[Array, Array]:
        """Per SKU the dearest gift of the combination's gifts that comes with it."""
        key = tuple(g.id for g in combo.gifts)
        if key not in self._gift_cache:
            cost = np.zeros(self.n, dtype=self.dtype)
            which = np.full(self.n, -1, dtype=np.int64)
            for g in combo.gifts:
                better = g.cover & (g.cost > cost)
                cost = np.where(better, g.cost, cost).astype(self.dtype)
                which[better] = self.promos.index(g)
            self._gift_cache[key] = (cost, which)
        return self._gift_cache[key]

    def _cover_of(self, combo: _Combo) -> Array:
        if combo.item is None or combo.item.everywhere:
            return np.arange(self.n)
        return np.flatnonzero(combo.item.cover)

    # -- the bound ------------------------------------------------------------------

    def _bound(self, combo: _Combo, idx: Array) -> Array:
        """The bound of each SKU in the combination (module docstring). A step that covers
        the whole shop sees the whole order, which reaches every threshold of the
        combination (cross-shop ones aside: other shops' items may reach those)."""
        q = self.prices[combo.item.id if combo.item else None][idx]
        local = [s.threshold for s in combo.steps if not s.cross_shop]
        whole = np.maximum(q, max(local, default=0))
        rest = q.copy()
        for step, loose in zip(combo.steps, self._loose(combo.steps, q), strict=True):
            takes = np.where(loose, rest, step.upper_share(q, whole if step.everywhere else q))
            rest = np.where(step.cover[idx], np.maximum(rest - takes, 0), rest)
        return rest - self._gifts(combo)[0][idx]

    # -- the search -----------------------------------------------------------------

    def _search(self) -> None:
        bounds = []
        for combo in self.combos:
            idx = self._cover_of(combo)
            bound = self._bound(combo, idx)
            self.bound[idx] = np.minimum(self.bound[idx], bound)
            mean = float(np.mean(bound.astype(float))) if len(bound) else float("inf")
            bounds.append((mean, idx, bound))
        for number in sorted(range(len(self.combos)), key=lambda i: bounds[i][0]):
            _, idx, bound = bounds[number]
            sel = idx[bound < self.best[idx]]
            if len(sel):
                self._evaluate(number, sel)

    def _fillers(self, combo: _Combo) -> list[tuple[tuple[bool, ...], Array]]:
        """For each set of the combination's order-level promotions that covers some SKU
        and has a threshold to reach: which of them cover it, and its cheapest SKUs."""
        item = combo.item.id if combo.item else None
        key: tuple[Any, ...] = (item, tuple(None if s.everywhere else s.id for s in combo.steps))
        key += tuple(bool(max(s.breakpoints(self.R)) > 0) for s in combo.steps)
        if key in self._filler_cache:
            return self._filler_cache[key]
        q = self.prices[item]
        code = np.zeros(self.n, dtype=np.int64)
        for bit, step in enumerate(combo.steps):
            code |= step.cover.astype(np.int64) << bit
        out = []
        for pattern in np.unique(code[q > 0]):
            flags = tuple(bool(int(pattern) >> bit & 1) for bit in range(len(combo.steps)))
            reaches = any(
                flag and max(s.breakpoints(self.R)) > 0
                for flag, s in zip(flags, combo.steps, strict=True)
            )
            if not reaches:
                continue
            where = np.flatnonzero((code == pattern) & (q > 0))
            values = q[where].astype(np.float64) if self.dtype is object else q[where]
            take = min(self.F + 1, len(where))
            if take < len(where):
                cut = np.partition(values, take - 1)[take - 1]
                where = where[values <= cut]
            order = np.lexsort(
                (where, q[where].astype(np.float64) if self.dtype is object else q[where])
            )
            out.append((flags, where[order][:take]))
        self._filler_cache[key] = out
        return out

    def _evaluate(self, number: int, sel: Array) -> None:
        combo = self.combos[number]
        q = self.prices[combo.item.id if combo.item else None]
        q_s = q[sel]
        cs = [s.cover[sel] for s in combo.steps]
        gift_cost, gift_which = self._gifts(combo)
        gift_cost, gift_which = gift_cost[sel], gift_which[sel]
        fillers = self._fillers(combo)
        for k in range(1, self.K + 1):
            ws = q_s * k
            unit = self._run(combo, k, ws, cs)[0]
            self._keep(number, sel, unit - gift_cost, k, None, None, gift_which)
            for flags, cands in fillers:
                pos = np.full(len(sel), len(cands))
                for t, c in enumerate(cands):
                    pos[sel == c] = t
                for slot in range(min(self.F, len(cands))):
                    pick = np.where(slot < pos, slot, slot + 1)
                    valid = pick < len(cands)
                    f_idx = np.asarray(cands)[np.minimum(pick, len(cands) - 1)]
                    q_f = q[f_idx]
                    for m in self._counts(combo, flags, ws, cs, q_f):
                        unit = self._run(combo, k, ws, cs, flags, q_f, m)[0]
                        unit = np.where(valid, unit, _INF)
                        self._keep(number, sel, unit - gift_cost, k, f_idx, m, gift_which)

    def _counts(
        self, combo: _Combo, flags: tuple[bool, ...], ws: Array, cs: list[Array], q_f: Array
    ) -> list[Array]:
        """Filler units to try: the least that reaches every threshold, and the least that
        reaches each higher step."""
        need = np.zeros(len(ws), dtype=self.dtype)
        for step, flag, c_s in zip(combo.steps, flags, cs, strict=True):
            if flag:
                need = np.maximum(need, _ceil_div(step.threshold - ws * c_s, q_f))
        out = [need]
        for step, flag, c_s in zip(combo.steps, flags, cs, strict=True):
            if flag:
                for point in step.breakpoints(self.R):
                    if point > step.threshold:
                        out.append(np.maximum(need, _ceil_div(point - ws * c_s, q_f)))
        return out

    def _run(
        self,
        combo: _Combo,
        k: int,
        ws: Array,
        cs: list[Array],
        flags: tuple[bool, ...] | None = None,
        q_f: Array | None = None,
        m: Array | None = None,
        trace: bool = False,
    ) -> tuple[Array, list[Array]]:
        """The price of one unit of the SKU (line net // k) in the basket of k units and m
        units of the filler, for every SKU at once; _INF where a threshold of the
        combination is not reached. With trace, the line's net after each step too."""
        rest_s = ws.copy()
        wf = rest_f = np.zeros_like(ws)
        if flags is not None and q_f is not None and m is not None:
            wf = m * q_f
            rest_f = wf.copy()
        reached = np.ones(len(ws), dtype=bool)
        after = []
        for position, (step, c_s) in enumerate(zip(combo.steps, cs, strict=True)):
            wsc = ws * c_s
            both = flags is not None and flags[position]
            value = wsc + wf if both else wsc
            reached &= value >= step.threshold
            save = step.discount(value)
            if both:
                # Two lines: the SKU's exact share D x wsc / value rounded half up (the
                # largest remainder of two lines, ties to the SKU), the filler the rest.
                rounded = (2 * save * wsc + value) // (2 * np.maximum(value, 1))
                if step.share == "drop":
                    take_s = np.minimum(rest_s, rounded)
                    take_f = np.minimum(rest_f, save - rounded)
                else:
                    # Pass on: a line whose exact share exceeds what is left of it pays 0
                    # and the other line takes the rest, up to what is left of it.
                    f_over = save * wf > rest_f * value
                    s_over = save * wsc > rest_s * value
                    take_s = np.where(
                        f_over, np.minimum(rest_s, save - rest_f), np.minimum(rest_s, rounded)
                    )
                    take_s = take_s * c_s
                    take_f = np.where(
                        s_over,
                        np.minimum(rest_f, save - rest_s),
                        np.minimum(rest_f, save - rounded),
                    )
                rest_f = rest_f - take_f
            else:
                take_s = np.minimum(rest_s, save) * c_s
            rest_s = rest_s - take_s
            if trace:
                after.append(rest_s.copy())
        unit = np.where(reached, rest_s // k, _INF)
        return unit, after

    def _keep(
        self,
        number: int,
        sel: Array,
        unit: Array,
        k: int,
        f_idx: Array | None,
        m: Array | None,
        gift_which: Array,
    ) -> None:
        better = unit < self.best[sel]
        if not better.any():
            return
        at = sel[better]
        self.best[at] = unit[better]
        self.combo_of[at] = number
        self.k_of[at] = k
        self.filler_of[at] = -1 if f_idx is None else f_idx[better]
        self.m_of[at] = 0 if m is None else m[better].astype(np.int64)
        self.gift_of[at] = gift_which[better]

    # -- results --------------------------------------------------------------------

    def _statuses(self) -> Array:
        has = self.floor != NO_FLOOR
        below = has & (self.best < self.floor)
        may = has & ~below & (self.bound < self.floor)
        out = np.full(self.n, "ok", dtype=object)
        out[below] = "breach"
        out[may] = "may_breach"
        out[~has] = "unguarded"
        return out

    def counts(self) -> dict[str, int]:
        return {status: int(np.sum(self.status == status)) for status in STATUSES}

    def status_in(self, wanted: tuple[str, ...]) -> Array:
        return np.isin(self.status.astype(str), wanted)

    def row(self, i: int) -> GuardRow:
        combo = self.combos[int(self.combo_of[i])]
        k, f, m = int(self.k_of[i]), int(self.filler_of[i]), int(self.m_of[i])
        q = self.prices[combo.item.id if combo.item else None]
        one = np.array([i])
        ws = q[one] * k
        cs = [s.cover[one] for s in combo.steps]
        steps: list[Step] = []
        if combo.item is not None:
            steps.append(Step(combo.item.id, combo.item.kind, int(q[i])))
        if f >= 0:
            flags = tuple(bool(s.cover[f]) for s in combo.steps)
            q_f, count = q[np.array([f])], np.array([m], dtype=self.dtype)
            _, after = self._run(combo, k, ws, cs, flags, q_f, count, trace=True)
        else:
            _, after = self._run(combo, k, ws, cs, trace=True)
        for step, rest in zip(combo.steps, after, strict=True):
            steps.append(Step(step.id, step.kind, int(rest[0]) // k))
        if self.gift_of[i] >= 0:
            gift = self.promos[int(self.gift_of[i])]
            steps.append(Step(gift.id, gift.kind, int(self.best[i])))
        floor = int(self.floor[i])
        filler = self.codes[f] if f >= 0 else None
        total = k * int(q[i]) + (m * int(q[f]) if f >= 0 else 0)
        return GuardRow(
            sku=self.codes[i],
            shop=self.shop.id,
            brand=self.shop.brand,
            platform=self.shop.platform,
            base=int(self.base[i]),
            floor=None if floor == NO_FLOOR else floor,
            lowest=int(self.best[i]),
            bound=int(self.bound[i]),
            status=self.status[i],
            steps=tuple(steps),
            basket=Basket(k, filler, m if f >= 0 else 0, total),
        )


def check(
    skus: SkuArrays,
    shops: Sequence[Shop],
    policy: PricePolicy,
    at: datetime,
    listed_prices: Mapping[tuple[str, str], int] | None = None,
    *,
    max_units: int = 3,
    fillers: int = 1,
    multiples: int = 2,
    stacking: Stacking | None = None,
) -> GuardResult:
    """Guard every (SKU, shop) pair of a brand: the lowest price a buyer can reach at the
    instant `at`, its basket and steps, the proven bound and the status.

    listed_prices: (sku, shop) -> fen, the price the shop lists the SKU at (default: the
    list price). max_units, fillers, multiples: the basket search (module docstring).
    """
    if at.tzinfo is None:
        raise InputError([Issue("at", "the instant needs a time zone")])
    if min(max_units, fillers, multiples) < 1:
        raise InputError([Issue("search", "max_units, fillers and multiples are at least 1")])
    stacking = stacking or load_stacking()
    issues = []
    for index, shop in enumerate(shops):
        if shop.platform not in stacking.platforms:
            known = ", ".join(sorted(stacking.platforms))
            message = f"no stacking order for platform {shop.platform!r}; known: {known}"
            issues.append(Issue(f"shops[{index}] (id {shop.id}).platform", message))
    if issues:
        raise InputError(issues)
    warnings: list[str] = []
    listed = _listed_by_shop(listed_prices or {}, warnings)
    by_brand: dict[str, list[int]] = {}
    for position, brand in enumerate(skus.brand):
        by_brand.setdefault(brand, []).append(position)
    guards = []
    for shop in shops:
        positions = np.array(by_brand.get(shop.brand, []), dtype=np.int64)
        codes = tuple(skus.code[p] for p in positions)
        local = {code: i for i, code in enumerate(codes)}
        base = skus.list_fen[positions].astype(np.int64)
        for code, price in listed.get(shop.id, {}).items():
            if code in local:
                base[local[code]] = price
            else:
                warnings.append(f"listed price for {code!r} in shop {shop.id}: not a SKU of it")
        platform = stacking.of(shop.platform)
        promos = []
        for p in policy.promotions:
            if p.shop != shop.id or not p.active(at):
                continue
            unknown = [code for code in (p.skus or []) if code not in local]
            if unknown:
                warnings.append(
                    f"promotion {p.id} names {len(unknown)} SKU(s) not of shop {shop.id}: "
                    + ", ".join(unknown[:5])
                )
            promos.append(_promo(p, local, len(codes), platform))
        guards.append(
            _ShopGuard(
                shop,
                platform,
                codes,
                base,
                skus.floor_fen[positions].astype(np.int64),
                promos,
                max_units,
                fillers,
                multiples,
            )
        )
    return GuardResult(guards, warnings)


def _listed_by_shop(
    listed: Mapping[tuple[str, str], int], warnings: list[str]
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    issues = []
    for (sku, shop), price in listed.items():
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            issues.append(Issue(f"listed_prices[{sku}, {shop}]", "a price is whole fen >= 0"))
            continue
        out.setdefault(shop, {})[sku] = price
    if issues:
        raise InputError(issues)
    return out
