"""Checks a ruleset against the snapshot it will run on: every shop, warehouse, SKU,
brand and rule id a rule names must exist. All problems are reported at once, each
with the rule's position and id and the field at fault.

Which fields name ids is declared by each rule class (`refs` in rules/catalog.py); this
module only walks those declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Mapping

from engine.core.errors import InputError, Issue
from engine.core.index import SnapshotIndex
from rules.catalog import Bundle, IdKind, RuleBase, Ruleset, at_path, ids_in

SKU_SELECTORS = ("skus", "category", "tags")
WHAT: dict[IdKind, str] = {
    "shop": "shop",
    "warehouse": "warehouse",
    "sku": "SKU",
    "component": "SKU",
    "rule": "rule id",
}


def rule_path(ruleset: Ruleset, k: int) -> str:
    rule = ruleset.rules[k]
    return f"rules[{k}]" + (f" (id {rule.id})" if rule.id else "")


def referenced_ids(rule: RuleBase) -> Iterator[tuple[str, IdKind, str]]:
    """(field path, what it names, id) for every id the rule's declared fields name, in
    declaration order."""
    for field, what in rule.refs.items():
        for path, value in at_path(rule, field):
            for name in ids_in(value):
                yield path, what, name


def check_references(ruleset: Ruleset, index: SnapshotIndex) -> None:
    known: dict[IdKind, Container[str]] = {
        "shop": set(index.shop_ids),
        "warehouse": set(index.wh_ids),
        "sku": index.sku_pos,
        "component": index.sku_pos,
    }
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
        issues.extend(_rule_issues(rule, path, index, known))
    # Rule ids once every rule's id is known.
    for k, rule in enumerate(ruleset.rules):
        for at, what, name in referenced_ids(rule):
            if what == "rule" and name not in seen:
                issues.append(Issue(f"{rule_path(ruleset, k)}.{at}", f"unknown rule id '{name}'"))
    if issues:
        raise InputError(issues, source="ruleset")


def _unknown(path: str, what: str, names: Iterable[str], known: Container[str]) -> list[Issue]:
    return [Issue(path, f"unknown {what} '{n}'") for n in names if n not in known]


def _rule_issues(
    rule: RuleBase, path: str, ix: SnapshotIndex, known: Mapping[IdKind, Container[str]]
) -> list[Issue]:
    out: list[Issue] = []
    refs = rule.scope.references()
    out += _unknown(f"{path}.scope.brand", "brand", refs.get("brand", []), set(ix.brands))
    out += _unknown(f"{path}.scope.shop", "shop", refs.get("shop", []), known["shop"])
    out += _unknown(
        f"{path}.scope.warehouse", "warehouse", refs.get("warehouse", []), known["warehouse"]
    )
    out += _unknown(f"{path}.scope.skus", "SKU", refs.get("skus", []), known["sku"])
    for at, what, name in referenced_ids(rule):
        if what == "rule":
            continue  # checked once all ids are known
        out += _unknown(f"{path}.{at}", WHAT[what], [name], known[what])
        out += [
            Issue(f"{path}.{at}", message) for message in CHECKS.get(what, _none)(rule, name, ix)
        ]
    if not rule.selects_skus:
        for field in SKU_SELECTORS:
            if getattr(rule.scope, field) is not None:
                out.append(
                    Issue(f"{path}.scope.{field}", "a shop-wide limit takes no SKU selector")
                )
    return out


def _none(rule: RuleBase, name: str, ix: SnapshotIndex) -> list[str]:
    return []


def _component(rule: RuleBase, name: str, ix: SnapshotIndex) -> list[str]:
    """A bundle's part is neither the bundle itself nor a bundle."""
    assert isinstance(rule, Bundle)
    if name == rule.sku:
        return ["a bundle cannot contain itself"]
    if name in ix.sku_pos and ix.is_bundle[ix.sku_pos[name]]:
        return [f"'{name}' is itself a bundle"]
    return []


# Checks beyond existence, by what an id names.
CHECKS: dict[IdKind, Callable[[RuleBase, str, SnapshotIndex], list[str]]] = {
    "component": _component,
}
