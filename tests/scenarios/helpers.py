"""Readings of scenario results for tests: the incumbents' listing by (SKU, shop) and
the comparison table as plain text."""

from __future__ import annotations

import io

from rich.console import Console

from engine.core.index import SnapshotIndex
from engine.core.snapshot import Snapshot
from engine.scenarios.compare import Comparison, render_table
from engine.scenarios.incumbent import incumbent_listing
from engine.scenarios.spec import IncumbentPolicy
from rules.catalog import Ruleset


def incumbent_rows(
    snapshot: Snapshot,
    ruleset: Ruleset,
    policy: IncumbentPolicy,
    closed_shops: frozenset[str] = frozenset(),
) -> dict[tuple[str, str], int]:
    """(SKU, shop) -> units listed: the policy on a snapshot."""
    index = SnapshotIndex.build(snapshot)
    found = incumbent_listing(index, ruleset, policy, closed_shops)
    return {
        (index.sku_ids[index.cell_sku[c]], index.shop_ids[index.cell_shop[c]]): int(q)
        for c, q in enumerate(found.listing)
    }


def table_text(c: Comparison, width: int = 160) -> str:
    """The comparison table as plain text (no colour codes)."""
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(render_table(c))
    return console.export_text()
