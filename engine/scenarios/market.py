"""The day's trade: each cell's demand meets its listing, and the accepted orders are
shipped from physical stock, bundles made from components, then presale (simulate.py,
step 3, describes the rules); the day's KPIs and ledger are counted as it goes.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from engine.scenarios.kpis import Totals
from engine.scenarios.listing import I64, Listing
from engine.scenarios.prepared import PreparedVariant, Trace
from engine.scenarios.stock import Stock, cumulative, per_sku, take_in_order, take_items


class ReplicationState(Protocol):
    """What the trade reads and changes of a replication as it plays (replication.py)."""

    v: PreparedVariant
    demand: I64  # [day, cell]
    listing: Listing | None
    stock: Stock
    totals: Totals
    trace: Trace | None


def trade(rep: ReplicationState, t: int) -> I64:
    """Day t's orders, on the listing and stock the replication holds after its plan;
    returns the orders each cell accepted (what its shop records as sold)."""
    v, ix, tr, lst, stock = rep.v, rep.v.index, rep.trace, rep.listing, rep.stock
    assert lst is not None
    n_s = ix.n_skus
    wanted = rep.demand[t]
    open_demand = np.where(v.open_cell, wanted, 0)
    at = np.flatnonzero(open_demand > 0)  # cells with demand, in cell order
    d = open_demand[at]
    sku = ix.cell_sku[at]
    # Listings: exclusive units first, then the shared part in cell order.
    acc = np.minimum(d, lst.exclusive[at])
    lst.exclusive[at] -= acc
    share = np.flatnonzero(lst.access[at] & (acc < d))
    if share.size:
        got = take_in_order(sku[share], d[share] - acc[share], lst.shared)
        acc[share] += got
        lst.shared -= per_sku(sku[share], got, n_s)
    # Supply: physical stock in the warehouses the shop reaches, then presale units;
    # beyond both, oversold.
    shipped = np.zeros_like(acc)
    left_after = np.zeros_like(acc)  # supply the cell's shop reaches after its orders
    consumed = np.zeros(n_s, dtype=np.int64)
    presold = np.zeros(n_s, dtype=np.int64)
    plain = np.flatnonzero(~v.is_bundle[sku])
    if plain.size:
        p_sku = sku[plain]
        served = stock.serve(at[plain], p_sku, acc[plain])
        pre = take_in_order(p_sku, acc[plain] - served.taken, lst.presale)
        presale_left = lst.presale[p_sku] - cumulative(p_sku, pre)
        lst.presale -= per_sku(p_sku, pre, n_s)
        shipped[plain] = served.taken + pre
        left_after[plain] = served.left + presale_left
        consumed += per_sku(p_sku, served.taken, n_s)
        presold += per_sku(p_sku, pre, n_s)
    for p in np.flatnonzero(v.is_bundle[sku]):
        _sell_bundle(rep, int(p), at, sku, acc, shipped, left_after, consumed, presold)
    refused = d - acc
    prevented = refused - np.minimum(refused, left_after)
    # Avoidable: lost while physical stock the shop reaches sat unsold at day's end.
    lost_at = np.flatnonzero(refused > 0)
    cap = _reachable_end(rep, at[lost_at], sku[lost_at])
    avoidable = np.zeros_like(acc)
    avoidable[lost_at] = take_items(sku[lost_at], refused[lost_at], cap)
    physical_end = stock.physical

    closed_lost = wanted - open_demand
    shop = ix.cell_shop[at]
    oversold = acc - shipped
    tot = rep.totals
    tot.units_sold += float(shipped.sum())
    tot.revenue += float((shipped * v.price[sku]).sum())
    tot.presold += float(presold.sum())
    tot.lost_sales += float(refused.sum() + closed_lost.sum())
    tot.avoidable_lost_sales += float(avoidable.sum())
    tot.units_oversold += float(oversold.sum())
    tot.oversell_attempts_prevented += float(prevented.sum())
    n_h = ix.n_shops
    tot.sold_by_shop_day[t] = np.bincount(shop, weights=shipped, minlength=n_h)
    tot.lost_by_shop_day[t] = np.bincount(shop, weights=refused, minlength=n_h)
    tot.lost_by_shop_day[t] += np.bincount(ix.cell_shop, weights=closed_lost, minlength=n_h)
    if tr is not None:
        tr.accepted[t, at] = acc
        tr.shipped[t, at] = shipped
        tr.oversold[t, at] = oversold
        tr.refused[t] = closed_lost
        tr.refused[t, at] += refused
        tr.prevented[t, at] = prevented
        tr.avoidable[t, at] = avoidable
        tr.sold[t] = consumed
        tr.presold[t] = presold
        tr.left[t] = physical_end
    accepted = np.zeros(ix.n_cells, dtype=np.int64)
    accepted[at] = acc
    return accepted


def _sell_bundle(
    rep: ReplicationState,
    p: int,
    at: I64,
    sku: I64,
    acc: I64,
    shipped: I64,
    left_after: I64,
    consumed: I64,
    presold: I64,
) -> None:
    """One bundle cell's orders of the day: the bundle's own stock, then bundles made
    from components (`qty` each, from the warehouses the shop reaches), then presale.

    A shop that misses some warehouse lists a bundle only up to its own stock (the
    compile step's rule), so a shop that can make bundles leaves the own units those
    shops still list for them, and makes bundles first; it takes them only when the
    components run short."""
    v, stock, lst = rep.v, rep.stock, rep.listing
    assert lst is not None
    b, cell = int(sku[p]), int(at[p])
    comps, qty = v.bundle_rows[b]
    want = int(acc[p])
    keep = 0
    if not v.restricted_cell[cell]:
        # what those shops may still sell: their listings, and today's orders of the
        # ones served after this cell
        others = v.restricted_bundle_cells.get(b, np.zeros(0, dtype=np.int64))
        if others.size:
            keep = int(lst.exclusive[others].sum())
            keep += int(lst.shared[b]) if lst.access[others].any() else 0
            later = np.arange(p + 1, np.searchsorted(sku, b, side="right"))
            keep += int(acc[later][v.restricted_cell[at[later]]].sum())
    free = max(0, stock.reachable_one(cell, b) - keep)
    got = stock.serve_one(cell, b, min(want, free))[0]
    made = min(want - got, _can_make(rep, cell, b))
    if made > 0:
        # a bundle's components are distinct SKUs: served one by one as all at once
        for c, units in zip(comps.tolist(), (made * qty).tolist(), strict=True):
            stock.serve_one(cell, c, units)
        consumed[comps] += made * qty
    if want - got - made > 0:  # the components ran short: the kept own units
        got += stock.serve_one(cell, b, want - got - made)[0]
    consumed[b] += got
    pre = min(want - got - made, int(lst.presale[b]))
    lst.presale[b] -= pre
    presold[b] += pre
    shipped[p] = got + made + pre
    left_after[p] = stock.reachable_one(cell, b)
    left_after[p] += _can_make(rep, cell, b) + int(lst.presale[b])


def _can_make(rep: ReplicationState, cell: int, b: int) -> int:
    """Bundles the components in the warehouses the cell's shop reaches could make."""
    comps, qty = rep.v.bundle_rows[b]
    if comps.size == 0:
        return 0
    return int((rep.stock.reachable_at(cell, comps) // qty).min())


def _reachable_end(rep: ReplicationState, cells: I64, sku: I64) -> I64:
    """Per item: physical units (bundles: own plus what components make) the cell's
    shop reaches."""
    cap = rep.stock.reachable(cells, sku)
    for k in np.flatnonzero(rep.v.is_bundle[sku]):
        cap[k] += _can_make(rep, int(cells[k]), int(sku[k]))
    return cap
