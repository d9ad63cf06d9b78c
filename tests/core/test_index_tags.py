"""A snapshot's tags in its index: one mask per tag, true exactly for the SKUs that carry
it, in the order the tags first appear."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.index import SnapshotIndex
from engine.core.io import parse_snapshot_columns
from tests.helpers import snapshot_data


@settings(max_examples=40, deadline=None)
@given(tags=st.lists(st.lists(st.sampled_from(["x", "y", "z", "é"]), max_size=3), max_size=8))
def test_tag_masks_are_the_skus_that_carry_the_tag(tags: list[list[str]]) -> None:
    doc = snapshot_data(pools={f"S{i}": 1 for i in range(len(tags))} or {"S": 1})
    for sku, sku_tags in zip(doc["skus"], tags, strict=False):
        sku["tags"] = sku_tags
    index = SnapshotIndex.of_columns(parse_snapshot_columns(doc))
    first_seen = list(dict.fromkeys(t for sku_tags in tags for t in sku_tags))
    assert list(index.sku_tags) == first_seen
    for tag, mask in index.sku_tags.items():
        assert mask.tolist() == [tag in s.get("tags", []) for s in doc["skus"]]
