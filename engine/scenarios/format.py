"""The what-if scenario file (YAML or JSON): a base world, simulation settings, and
variants that each change something in it. engine/scenarios/overrides.py checks a loaded
file against the base data and turns it into one spec.VariantInputs per variant.

    # a comment header: what the file asks
    description: Double-11 at 3x demand        # optional, as every field with a default
    base:
      snapshot: demo/snapshot.json             # relative to this file
      ruleset: demo/rules.yaml
      mode: normal                             # default: the snapshot's own mode
    simulation:
      horizon_days: 30                         # 1..366 (default 30)
      replan_every_days: 7                     # >= 1, or null: the day-0 plan stands
      seed: 1
      replications: 1
      demand_knowledge: history                # or true (see below)
      warmup_days: 56                          # 0..366: sales history before day 0
    arrivals:                                  # deliveries in every variant, base too
      - {sku: B1-0001, warehouse: wh-sh, quantity: 200, day: 3}   # or date: 2026-11-14
    variants:
      - name: peak-uplift                      # a-z, 0-9, - and _; unique; not `base`
        description: peak mode and 3x demand on Nov 11-12
        planner: omnistock                     # or incumbent, with an `incumbent:` block
        planner_velocity: estimated            # true | naive | estimated
        mode: peak                             # default: the base's mode
        overrides:
          - {op: uplift, factor: 3, dates: {from: 2026-11-11, to: 2026-11-12}}

`demand_knowledge` says what the planners know of demand. `true`: each re-plan is given
the means the world draws its demand from (the simulator's behaviour before the key
existed; the shipped files whose published numbers rest on it say so). `history`, the
default (a file without the key): each re-plan sees only the sales the simulated shops
recorded, censored by their listings, after a warm-up of `warmup_days` days drawn before
day 0 (engine/scenarios/history.py). Every planner of the file, omnistock and the
incumbents, is handed the same information. A variant's `planner_velocity` says what
omnistock makes of it: `true` (the world's means, an oracle), `naive` (the mean of the
last 14 days' sales, stockout days as zeros, as an agency computes it) or `estimated`
(the demand estimator, engine/demand); left out, `true` under `demand_knowledge: true`
and `estimated` under `history`. The incumbents' formula reads no velocity, so an
incumbent variant takes no `planner_velocity`.

Each variant is compared with the implicit first variant `base`: the base files in the
base mode, omnistock's planner, no overrides. (A file may not name a variant `base`, so
that it always means the same thing; an incumbent against omnistock is a variant.)
Overrides apply in file order; `op` is one of:

- `add_rule {rule}`, `remove_rule {id}`, `replace_rule {id, rule}`: `rule` is a rule
  document as in a ruleset file. A replacing rule keeps the old one's place and, when it
  has no id, its id (campaign windows name rules by id).
- `stock_delta {sku?, category?, warehouse?, brand? (at least one; a value or a list),
  delta | percent}`: on_hand of every stock row all selectors match changes by `delta`
  units or `percent` (-100..10000, rounded half up). A row never goes below 0 (clamped,
  with a note). The selectors must match a row, and an increase must reach each SKU named.
- `uplift {factor, shops?, categories?, skus?, days: [first, last] | dates: {from, to},
  planned: true}`: demand x factor on those days (day 0 is the as_of date; the window
  must lie in the horizon). A planned uplift is known to the planner, an unplanned one
  is a surprise.
- `open_shop {id, brand, platform, like, velocity_factor: 1.0, priority?}`: a new shop of
  `like`'s brand, supplied as `like` is (priority: like's), with `like`'s velocity x
  velocity_factor as added demand.
- `close_shop {shop}`: the shop lists nothing and its demand is lost. A top-priority
  max_cap 0 (id `close-<shop>`) is appended after all other overrides; rules that would
  still put units there (fixed, lock, hold, presale, a more specific cap) are refused:
  remove or replace them in the same variant.
- `mode {mode}`: normal or peak (a variant sets its mode once: here or in `mode:`).
- `arrival {sku, warehouse, quantity, day | date}`: a delivery in this variant only.

`incumbent {shares: {shop: percent}, default_share_pct: 100, safety_stock: 0}` is the
incumbents' per-shop formula floor(pool x share%) - safety (spec.IncumbentPolicy); it is
refused on an omnistock variant. Ids are checked against the base data and every issue
is reported at once, e.g.
`variants[2] (double11).overrides[1] (remove_rule).id: no rule 'r-x' in the base ruleset`.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import ErrorDetails

from engine.core.errors import InputError, Issue
from engine.core.index import SnapshotIndex
from engine.core.io import load_snapshot, pydantic_issues, read_document
from engine.core.snapshot import Snapshot
from engine.scenarios.spec import DemandKnowledge, SimulationSettings
from engine.scenarios.variants import (
    OPS,
    AddArrival,
    AddRule,
    ArrivalSpec,
    CloseShop,
    DateWindow,
    Day,
    Id,
    Incumbent,
    Mode,
    OpenShop,
    Override,
    Percent,
    RemoveRule,
    ReplaceRule,
    SetMode,
    StockDelta,
    StrictModel,
    UpliftDemand,
    Variant,
    variant_path,
    yaml_true,
)
from rules.catalog import RULE_TYPES, Ruleset
from rules.load import load_ruleset
from rules.references import check_references

__all__ = [
    "BASE",
    "OPS",
    "AddArrival",
    "AddRule",
    "ArrivalSpec",
    "Base",
    "CloseShop",
    "DateWindow",
    "Day",
    "Id",
    "Incumbent",
    "Mode",
    "OpenShop",
    "Override",
    "Percent",
    "RemoveRule",
    "ReplaceRule",
    "Scenario",
    "SetMode",
    "Simulation",
    "StockDelta",
    "UpliftDemand",
    "Variant",
    "load_base",
    "load_scenario",
    "parse_scenario",
    "scenario_document",
    "variant_path",
]

BASE = "base"  # the implicit first variant


# --- the file ----------------------------------------------------------------------------


class Base(StrictModel):
    # Paths relative to the scenario file; a file needs both. The service plays scenarios
    # on the tenant's stored snapshot and ruleset, so there they are left out.
    snapshot: Id | None = None
    ruleset: Id | None = None
    mode: Mode | None = None  # None: the snapshot's own mode, as `omnistock plan` does


class Simulation(StrictModel):
    horizon_days: Annotated[int, Field(strict=True, ge=1, le=366)] = 30
    replan_every_days: Annotated[int, Field(strict=True, ge=1)] | None = 7
    seed: Annotated[int, Field(strict=True)] = 1
    # Bounds keep one request from holding a job worker for days; a planner needing more
    # runs several scenarios.
    replications: Annotated[int, Field(strict=True, ge=1, le=100)] = 1
    # A file without the key plays learned demand; files whose published numbers rest on
    # the planner knowing the true means say `true`.
    demand_knowledge: Annotated[DemandKnowledge, BeforeValidator(yaml_true)] = "history"
    warmup_days: Annotated[int, Field(strict=True, ge=0, le=366)] = 56

    def settings(self) -> SimulationSettings:
        return SimulationSettings(
            self.horizon_days,
            self.replan_every_days,
            self.seed,
            self.replications,
            self.demand_knowledge,
            self.warmup_days,
        )


class Scenario(StrictModel):
    description: str | None = None
    base: Base = Base()
    simulation: Simulation = Simulation()
    arrivals: list[ArrivalSpec] = []
    variants: Annotated[list[Variant], Field(max_length=50)] = []
    _path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _variants_hold(self) -> Scenario:
        # InputError, not ValueError: pydantic lets it through with its issues' paths.
        issues = []
        first: dict[str, int] = {}
        for i, variant in enumerate(self.variants):
            at = variant_path(i, variant)
            seen = first.setdefault(variant.name, i)
            if variant.name == BASE:
                message = "'base' is the implicit base variant; give this one another name"
                issues.append(Issue(f"{at}.name", message))
            elif seen != i:
                issues.append(Issue(f"{at}.name", f"duplicate name (first at variants[{seen}])"))
            if variant.incumbent is not None and variant.planner != "incumbent":
                message = "an incumbent block needs `planner: incumbent`"
                issues.append(Issue(f"{at}.incumbent", message))
            if variant.planner_velocity is not None and variant.planner == "incumbent":
                message = "the incumbents' formula reads no velocity; leave it out"
                issues.append(Issue(f"{at}.planner_velocity", message))
            modes = [j for j, o in enumerate(variant.overrides) if isinstance(o, SetMode)]
            for j in modes[1:] if variant.mode is None else modes:
                message = "the variant's mode is already set; set it once"
                issues.append(Issue(f"{at}.overrides[{j}] (mode)", message))
        if issues:
            raise InputError(issues)
        return self

    @property
    def path(self) -> Path | None:
        """The file this scenario was read from; the base paths are relative to it."""
        return self._path

    @property
    def source(self) -> str:
        return "" if self._path is None else str(self._path)


def _labelled(loc: tuple[int | str, ...], data: Any) -> str:
    """A pydantic location as a path naming each variant, override and rule, with the
    union tags left out: ('variants', 2, 'overrides', 1, 'remove_rule', 'id') ->
    'variants[2] (double11).overrides[1] (remove_rule).id'."""
    path, node, i = "", data, 0
    while i < len(loc):
        part, parent = loc[i], loc[i - 1] if i else None
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            path += f".{part}" if path else part
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            tag = node.get("op", node.get("type"))
            if i + 1 < len(loc) and loc[i + 1] == tag:
                i += 1
            name = {"variants": "name", "overrides": "op"}.get(str(parent), "")
            label = node.get(name) if isinstance(part, int) else None
            if part == "rule" and node.get("id"):
                label = f"id {node['id']}"
            path += f" ({label})" if isinstance(label, str) else ""
        i += 1
    return path


def _message(error: ErrorDetails, message: str) -> str:
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        if error["ctx"]["discriminator"] == "'op'":
            return f"unknown or missing op; known ops: {', '.join(OPS)}"
        return f"unknown or missing rule type; known types: {', '.join(sorted(RULE_TYPES))}"
    return message.removeprefix("Value error, ")


def parse_scenario(data: Any, path: str | PathLike[str] | None = None) -> Scenario:
    """A scenario from plain data; `path` is the file it came from (errors name it, and
    the base paths are relative to its directory; None: to the working directory)."""
    source = "" if path is None else str(path)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        issues = [
            Issue(_labelled(e["loc"], data), _message(e, issue.message))
            for e, issue in zip(errors, pydantic_issues(err), strict=True)
        ]
        raise InputError(issues, source) from None
    except InputError as err:
        raise InputError(err.issues, source) from None
    scenario._path = None if path is None else Path(path)
    return scenario


def load_scenario(path: str | PathLike[str]) -> Scenario:
    return parse_scenario(read_document(path), path)


def scenario_document(scenario: Scenario) -> dict[str, Any]:
    """Plain data (JSON- and YAML-safe): what the file said, without the defaults it left
    out. parse_scenario(scenario_document(s), s.path) == s."""
    return scenario.model_dump(mode="json", exclude_unset=True, by_alias=True)


def load_base(scenario: Scenario) -> tuple[Snapshot, Ruleset]:
    """The base snapshot and ruleset, each valid and every id the rules name present;
    every issue of both files at once, each under `base.snapshot` or `base.ruleset`."""
    folder = Path(".") if scenario.path is None else scenario.path.parent
    issues: list[Issue] = []
    loaded: dict[str, Any] = {}
    for key, load in (("snapshot", load_snapshot), ("ruleset", load_ruleset)):
        written = getattr(scenario.base, key)
        if written is None:
            message = f"a scenario file names its base {key} (a path relative to the file)"
            issues.append(Issue(f"base.{key}", message))
            continue
        try:
            loaded[key] = load(folder / written)
        except InputError as err:
            issues += [
                Issue(f"base.{key} ({written}) {i.path}".rstrip(), i.message) for i in err.issues
            ]
    if not issues:
        try:
            check_references(loaded["ruleset"], SnapshotIndex.build(loaded["snapshot"]))
        except InputError as err:
            written = scenario.base.ruleset
            issues += [Issue(f"base.ruleset ({written}) {i.path}", i.message) for i in err.issues]
    if issues:
        raise InputError(issues, scenario.source)
    return loaded["snapshot"], loaded["ruleset"]
