"""Checks a ruleset against the snapshot it will run on: every shop, warehouse, SKU,
brand and rule id a rule names must exist. All problems are reported at once, each
with the rule's position and id and the field at fault."""

from __future__ import annotations

from collections.abc import Iterable

from engine.core.errors import InputError, Issue
from engine.core.index import SnapshotIndex
from rules.catalog import (
    Bundle,
    CampaignWindow,
    RuleBase,
    Ruleset,
    ShopCapacity,
    ValueBudget,
)

SHOP_MAPS = ("shares", "quantities", "weights", "offsets", "budgets")
SKU_SELECTORS = ("skus", "category", "tags")


def rule_path(ruleset: Ruleset, k: int) -> str:
    rule = ruleset.rules[k]
    return f"rules[{k}]" + (f" (id {rule.id})" if rule.id else "")


def check_references(ruleset: Ruleset, index: SnapshotIndex) -> None:
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for k, rule in enumerate(ruleset.rules):
        path = rule_path(ruleset, k)
        if rule.id is not None:
            if rule.id in seen:
                issues.append(
                    Issue(f"{path}.id", f"duplicate rule id (first at rules[{seen[rule.id]}])")
                )
            seen.setdefault(rule.id, k)
        issues.extend(_rule_issues(rule, path, index))
    ids = set(seen)
    for k, rule in enumerate(ruleset.rules):
        if isinstance(rule, CampaignWindow):
            for name in rule.rules:
                if name not in ids:
                    issues.append(
                        Issue(f"{rule_path(ruleset, k)}.rules", f"unknown rule id '{name}'")
                    )
    if issues:
        raise InputError(issues, source="ruleset")


def _unknown(path: str, what: str, names: Iterable[str], known: Iterable[str]) -> list[Issue]:
    names = list(names)
    if not names:
        return []
    known_set = known if isinstance(known, dict) else set(known)
    return [Issue(path, f"unknown {what} '{n}'") for n in names if n not in known_set]


def _rule_issues(rule: RuleBase, path: str, ix: SnapshotIndex) -> list[Issue]:
    out: list[Issue] = []
    refs = rule.scope.references()
    out += _unknown(f"{path}.scope.brand", "brand", refs.get("brand", []), ix.brands)
    out += _unknown(f"{path}.scope.shop", "shop", refs.get("shop", []), ix.shop_ids)
    out += _unknown(f"{path}.scope.warehouse", "warehouse", refs.get("warehouse", []), ix.wh_ids)
    out += _unknown(f"{path}.scope.skus", "SKU", refs.get("skus", []), ix.sku_pos)
    for field in SHOP_MAPS:
        value = getattr(rule, field, None)
        if isinstance(value, dict):
            out += _unknown(f"{path}.{field}", "shop", value, ix.shop_ids)
    for field in ("shops",):
        value = getattr(rule, field, None)
        if value is not None:
            out += _unknown(f"{path}.{field}", "shop", value, ix.shop_ids)
    shop = getattr(rule, "shop", None)
    if shop is not None:
        out += _unknown(f"{path}.shop", "shop", [shop], ix.shop_ids)
    warehouses = getattr(rule, "warehouses", None)
    if warehouses is not None:
        out += _unknown(f"{path}.warehouses", "warehouse", warehouses, ix.wh_ids)
    tiers = getattr(rule, "tiers", None)
    for t, tier in enumerate(tiers or []):
        out += _unknown(f"{path}.tiers[{t}].shares", "shop", tier.shares, ix.shop_ids)
    if isinstance(rule, Bundle):
        out += _unknown(f"{path}.sku", "SKU", [rule.sku], ix.sku_ids)
        for c, comp in enumerate(rule.components):
            out += _unknown(f"{path}.components[{c}].sku", "SKU", [comp.sku], ix.sku_ids)
            if comp.sku == rule.sku:
                out.append(Issue(f"{path}.components[{c}].sku", "a bundle cannot contain itself"))
            elif comp.sku in ix.sku_pos and ix.is_bundle[ix.sku_pos[comp.sku]]:
                out.append(Issue(f"{path}.components[{c}].sku", f"'{comp.sku}' is itself a bundle"))
    if isinstance(rule, ShopCapacity | ValueBudget):
        for field in SKU_SELECTORS:
            if getattr(rule.scope, field) is not None:
                out.append(
                    Issue(f"{path}.scope.{field}", "a shop-wide limit takes no SKU selector")
                )
    return out
