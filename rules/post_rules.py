"""Pipeline step 5's parameters: per cell, the pack size, min-or-delist threshold and
sync threshold in force (the most specific rule of each kind), applied after the solve
by engine/planning/post.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rules.catalog import Kind, MinOrDelist, PackSize, RuleBase, SyncThreshold
from rules.draft import I64, NONE, Draft


@dataclass(frozen=True)
class PostRules:
    """Per-cell parameters of pipeline step 5 (applied after the solve)."""

    pack: I64  # pack size, 1 = none
    pack_rule: I64
    delist: I64  # min_or_delist threshold, 0 = none
    delist_rule: I64
    sync: I64  # sync threshold, 0 = none
    sync_rule: I64
    bands: dict[int, list[int]]  # sync rule -> band levels


@dataclass(frozen=True)
class Post:
    """How the rules of one post rule class set their PostRules fields."""

    field: str  # the PostRules field (and `<field>_rule`, the rule in force)
    default: int  # the value where no rule applies
    value: Callable[[Any], int]  # the rule's value


# Per post rule class (pipeline step 5); each class is a kind of its own.
POST: dict[type[RuleBase], Post] = {
    PackSize: Post("pack", 1, lambda rule: rule.quantity),
    MinOrDelist: Post("delist", 0, lambda rule: rule.threshold),
    SyncThreshold: Post("sync", 0, lambda rule: rule.threshold),
}


def post_rules(d: Draft) -> PostRules:
    ix = d.ix
    out: dict[str, I64] = {}
    for cls, post in POST.items():
        rules = d.of_kind(cls.kind)
        if not rules:
            # The same default on every cell: a read-only view that takes no memory.
            out[post.field] = np.broadcast_to(np.int64(post.default), ix.n_cells)
            out[post.field + "_rule"] = np.broadcast_to(np.int64(NONE), ix.n_cells)
            continue
        won = d.win(rules, ix.n_cells, d.cell_rule_mask)
        value = np.full(ix.n_cells, post.default, dtype=np.int64)
        for k in rules:
            value = np.where(won == k, post.value(d.rule(k)), value)
        out[post.field] = value
        out[post.field + "_rule"] = won
    bands = {
        k: list(rule.bands)
        for k in d.of_kind(Kind.SYNC)
        for rule in [d.rule(k)]
        if isinstance(rule, SyncThreshold)
    }
    return PostRules(bands=bands, **out)
