"""The price guard of a tenant: its price policy (minimum margins, each shop's
promotions), and checks of the lowest price a buyer can reach for every SKU on every
shop against the SKU's floor.

A check runs on demand, when the policy changes (a new version), when an import or a
restore changes products (prices, costs, floors), and over listed prices read back from
the marketplaces (`listed`). Each run is kept with what started it; its record holds the
summary and every row below its floor, not the rows that are fine.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from engine.catalog.prices.guard import GuardResult, check, sku_arrays
from engine.catalog.prices.policy import PricePolicy, fen, parse_policy
from engine.catalog.store import PriceCheck
from engine.core.errors import InputError, Issue
from engine.core.snapshot import Shop as PlanShop
from engine.services.catalog import Catalog, ImportReport

JsonObject = dict[str, Any]


def _shops(catalog: Catalog, tenant: str) -> list[PlanShop]:
    shops = catalog.store.shops(tenant)
    if not shops:
        message = "no shops: set them first (`omnistock catalog shops FILE`, PUT /v1/catalog/shops)"
        raise InputError([Issue("shops", message)], "price policy")
    return [PlanShop(id=s.id, brand=s.brand, platform=s.platform) for s in shops]


def put_policy(
    catalog: Catalog,
    tenant: str,
    doc: Any,
    author: str,
    source: str,
    at: datetime | None = None,
    listed: Mapping[tuple[str, str], int] | None = None,
) -> JsonObject:
    """Store a new version of the policy and guard every SKU under it; the check."""
    shops = _shops(catalog, tenant)
    rules = parse_policy(doc, [s.id for s in shops], source)
    version = catalog.store.put_price_policy(tenant, doc, author)
    return _guard(catalog, tenant, version, rules, shops, f"price policy v{version}", at, listed)


def policy(catalog: Catalog, tenant: str) -> tuple[int, JsonObject]:
    """The current policy (version, document); InputError before the first."""
    stored = catalog.store.price_policy(tenant)
    if stored is None:
        message = (
            "no price policy: set one (`omnistock prices check --policy FILE`, "
            "PUT /v1/prices/policy)"
        )
        raise InputError([Issue("policy", message)], "price guard")
    return stored.version, stored.body


def run_check(
    catalog: Catalog,
    tenant: str,
    trigger: str,
    at: datetime | None = None,
    listed: Mapping[tuple[str, str], int] | None = None,
) -> JsonObject:
    """Guard every SKU of the catalog on every shop of its brand under the current
    policy; keep and return the run."""
    version, doc = policy(catalog, tenant)
    shops = _shops(catalog, tenant)
    rules = parse_policy(doc, [s.id for s in shops], f"price policy v{version}")
    return _guard(catalog, tenant, version, rules, shops, trigger, at, listed)


def _guard(
    catalog: Catalog,
    tenant: str,
    version: int,
    rules: PricePolicy,
    shops: list[PlanShop],
    trigger: str,
    at: datetime | None,
    listed: Mapping[tuple[str, str], int] | None,
) -> JsonObject:
    """One run of the guard at `at` (default: the policy's `as_of`, else now), kept."""
    when = at or rules.as_of or datetime.now(UTC)
    products = [s.product for s in catalog.store.current(tenant)]
    result = check(sku_arrays(products, rules), shops, rules, when, listed)
    body = _body(result, when, version, listed is not None)
    body["id"] = catalog.store.add_price_check(tenant, trigger, body)
    body["trigger"] = trigger
    return body


def _body(result: GuardResult, at: datetime, version: int, listed: bool) -> JsonObject:
    return {
        "at": at.isoformat(),
        "policy_version": version,
        "prices": "listed" if listed else "list",
        "summary": dict(result.summary),
        "warnings": list(result.warnings),
        "breaches": [row.as_dict() for row in result.breaches()],
    }


def latest(catalog: Catalog, tenant: str, brand: str | None = None) -> JsonObject:
    """The newest check (its breaches cut to `brand`); InputError before the first."""
    found: PriceCheck | None = catalog.store.latest_price_check(tenant)
    if found is None:
        message = "no price check yet: set a price policy or run one"
        raise InputError([Issue("check", message)], "price guard")
    body = {**found.body, "id": found.id, "trigger": found.trigger}
    if brand is not None:
        # A brand viewer sees its brand's rows, and counts of those only.
        mine = [b for b in body["breaches"] if b["brand"] == brand]
        body["breaches"] = mine
        body["summary"] = {s: sum(b["status"] == s for b in mine) for s in ("breach", "may_breach")}
        body["warnings"] = []
    return body


def after_import(catalog: Catalog, tenant: str, report: ImportReport) -> JsonObject | None:
    """Guard again after an import that changed products (prices, costs and floors may
    have moved), if the tenant has a policy and shops; the check, or None."""
    if not (report.result.created or report.result.updated):
        return None
    return after_change(catalog, tenant, report.source)


def after_change(catalog: Catalog, tenant: str, what: str) -> JsonObject | None:
    """Guard again after products changed, if the tenant has a policy and shops."""
    if catalog.store.price_policy(tenant) is None or not catalog.store.shops(tenant):
        return None
    return run_check(catalog, tenant, f"catalog change ({what})")


def read_listed(path: Path) -> dict[tuple[str, str], int]:
    """Listed prices from a CSV with the columns sku, shop, price (a marketplace's
    read-back): every bad row named at once."""
    issues: list[Issue] = []
    listed: dict[tuple[str, str], int] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise InputError([Issue("", f"cannot read: {error}")], str(path)) from None
    for number, row in enumerate(rows, start=2):
        missing = [c for c in ("sku", "shop", "price") if not (row.get(c) or "").strip()]
        if missing:
            issues.append(Issue(f"row {number}", f"needs {', '.join(missing)}"))
            continue
        try:
            amount = Decimal(row["price"].strip())
            if amount < 0 or amount != amount.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            issues.append(Issue(f"row {number}, column 'price'", f"not a price: {row['price']!r}"))
            continue
        listed[(row["sku"].strip(), row["shop"].strip())] = fen(amount)
    if issues:
        raise InputError(issues, str(path))
    return listed


def listed_from(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """Listed prices from the API's body rows ({sku, shop, price})."""
    return {(str(r["sku"]), str(r["shop"])): fen(Decimal(str(r["price"]))) for r in rows}
