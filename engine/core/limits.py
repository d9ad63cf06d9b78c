"""The largest numbers omnistock plans with: one place for the bounds that the snapshot,
the rules, the scenarios and the shelf input validate on load (docs/rules.md, "Bounds").

Each bound is far beyond what a business reaches and small enough that the compile step
carries every number derived from it exactly: int64 never overflows, and float64 holds
every whole number that is compared or rounded (below 2**53, about 9.0e15). A number
beyond its bound is refused with its path, never planned with.

Worst cases (per field at its bound):

- Units, 10**9 (< 2**30). A pool, a shop's load or a plan's total is a sum of such
  fields (4 stock buckets per warehouse row, one virtual amount per rule); int64 holds
  9.2e9 of them, more rows and rules than any document or memory does (a 20 MB request
  holds some 4e5 rows: 4e14 units, which times the solver's unit cost, below 2**15 up
  to 4,095 shops, still fits int64). Products of two unit counts never occur: bundles
  divide a pool by `qty`, and `qty` x bundles made is at most the component's pool.
- Bundle qty, 1000. Exact in the compile step up to MAX_UNITS, but the MIP solver takes
  `qty` as a coefficient beside the 1s of the pool rows, and its feasibility tolerance is
  relative: measured with pools of 1e9 to 8e10 units, a qty of 10**4 let plans draw a few
  units beyond a pool (which the planner refuses, exit code 4), 1000 never did.
- Money, 10**10 yuan with at most 2 decimals: 10**12 fen (< 2**40), exact as int64 and
  as float64, so a budget in fen is the budget. Units x price of one cell can pass
  2**63 (10**10 units x 10**12 fen), so stock value is summed in float64: exact below
  2**53 fen (9e13 yuan, beyond every budget), and above it beyond every budget anyway,
  so "value > budget" is decided as with exact numbers.
- Days 3650 x velocity 10**6 units/day x uplift factor 1000 = 3.65e12 units per
  (SKU, shop); over 2,000 shops of one SKU 7.3e15 < 2**53: days-of-cover needs are whole
  numbers held exactly in float64. The compile step caps them at the pool before
  converting to int64, so more shops cannot overflow either.
- Factor 1000: a velocity times a factor stays finite (and within the days bound above).
- Weights 10**6: a rule's weights add up to at most (shops) x 10**6, finite, and equal
  weights split evenly (10**6 / 2e6 is exactly 0.5), where 1e308 + 1e308 is inf.
- Priorities 10**9: only ordered, never added; the bound keeps them int64.
"""

from __future__ import annotations

from decimal import Decimal

MAX_UNITS = 10**9  # any one count of units: stock, listings, rule quantities
MAX_BUNDLE_QTY = 1000  # units of one component in one bundle
MAX_MONEY = Decimal(10**10)  # any one amount of money (price, margin, budget)
MONEY_PLACES = 2  # fen: prices and budgets are compared in whole fen
MAX_DAYS = 3650.0  # ten years: days of cover, lead times
MAX_VELOCITY = 1e6  # units per day of one SKU on one shop
MAX_FACTOR = 1000.0  # a demand multiplier (promotion uplift, scenario uplifts)
MAX_WEIGHT = 1e6  # a relative weight (shares by weight, shelf slot weights)
MAX_PRIORITY = 10**9  # a shop's priority; a rule's priority within +-MAX_PRIORITY
