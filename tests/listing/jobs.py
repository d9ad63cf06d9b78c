"""The listing job tests' shared parts: products of the test brand, a job, where a run
finds things, a read that outlasts the sandbox's faults. The tenant's catalog, with one
shop per platform, is conftest.py's `catalog` fixture."""

from __future__ import annotations

from typing import Any

from engine.catalog.model import Product
from engine.listing.accounts import Accounts
from engine.listing.adapters.base import WireAdapter
from engine.listing.batch import Backoff, RunOptions
from engine.listing.jobstore import ListingStore
from engine.listing.marketplace import ListedItem, ListingError
from engine.services import listings
from engine.services.catalog import Catalog
from engine.services.listings import RunPlace
from tests.listing.conftest import LISTING_BRAND as BRAND
from tests.listing.conftest import LISTING_TENANT as TENANT
from tests.listing.conftest import running_shoe

__all__ = ["BRAND", "FAST", "TENANT", "import_products", "new_job", "place", "products", "read_all"]

# Short waits: the sandbox's faults and reviews pass in moments.
FAST = RunOptions(
    backoff=Backoff(attempts=10, first_s=0.1, quick_s=0.05, max_s=0.5),
    poll_every_s=0.05,
    review_timeout_s=20,
    settle_s=2.5,  # the sandbox carries out a timed-out call 2 s after it came
)


def products(n: int, title: str | None = None) -> list[Product]:
    made = [running_shoe(f"B{i:03d}") for i in range(n)]
    if title is not None:
        made[0] = running_shoe("B000", title)
    return [p.model_copy(update={"brand": BRAND}) for p in made]


def import_products(catalog: Catalog, given: list[Product]) -> None:
    catalog.store.import_products(TENANT, given, "test", "test", None)


def database_url(catalog: Catalog) -> str:
    return catalog.store.engine.url.render_as_string(hide_password=False)


def place(catalog: Catalog, root: str) -> RunPlace:
    return RunPlace(database_url(catalog), None, Accounts.sandbox(root))


def read_all(shop: WireAdapter) -> list[ListedItem]:
    """The shop's items, read again while the sandbox's faults refuse the read."""
    for _ in range(50):
        try:
            return shop.items()
        except ListingError as error:
            assert error.retryable
    raise AssertionError("the shop could not be read in 50 tries")


def new_job(catalog: Catalog, **kwargs: Any) -> str:
    preview = listings.preview_publish(catalog, TENANT, BRAND, **kwargs)
    store = ListingStore(catalog.store.engine)
    return listings.create_job(store, TENANT, preview, "test", {}).id
