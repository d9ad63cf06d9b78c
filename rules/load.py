"""Loading a ruleset file: every invalid rule is reported at once with its position,
its id and the field at fault, e.g. `rules[3] (id r7).shares.tm-b1: ...`."""

from __future__ import annotations

from os import PathLike
from typing import Any

from pydantic import ValidationError

from engine.core.errors import InputError, Issue
from engine.core.io import pydantic_issues, read_document
from rules.catalog import RULE_TYPES, Ruleset


def _rule_id(data: Any, index: int) -> str | None:
    try:
        rule_id = data["rules"][index].get("id")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return rule_id if isinstance(rule_id, str) else None


def _relabel(issue: Issue, data: Any, loc: tuple[Any, ...]) -> Issue:
    """Name the rule by its id and drop pydantic's union tag from the path."""
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return issue
    head = f"rules[{loc[1]}]"
    rule_id = _rule_id(data, loc[1])
    if rule_id:
        head += f" (id {rule_id})"
    rest = list(loc[2:])
    if rest and rest[0] in RULE_TYPES:
        rest = rest[1:]
    path = head
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = issue.message
    if "union_tag" in message or "tag" in message and "does not match" in message:
        message = f"unknown rule type; known types: {', '.join(sorted(RULE_TYPES))}"
    return Issue(path, message)


def parse_ruleset(data: Any, source: str = "") -> Ruleset:
    try:
        return Ruleset.model_validate(data)
    except ValidationError as err:
        locs = [e["loc"] for e in err.errors(include_url=False)]
        issues = [_relabel(i, data, loc) for i, loc in zip(pydantic_issues(err), locs, strict=True)]
        raise InputError(issues, source) from None


def load_ruleset(path: str | PathLike[str]) -> Ruleset:
    return parse_ruleset(read_document(path), source=str(path))
