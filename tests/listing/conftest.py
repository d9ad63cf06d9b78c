"""Fixtures of the listing tests: a sandbox marketplace over loopback HTTP shared by a
module (`sandbox_root`), a shop id of the test's own (so tests sharing a sandbox never
see each other's items), and catalog payloads of a product ready on every platform."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.catalog.completeness import check
from engine.catalog.model import Product, SkuRecord
from engine.catalog.registry import default_registry
from engine.listing.adapters import adapter_for
from engine.listing.adapters.base import WireAdapter
from engine.listing.marketplace import MarketplaceConfig
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit
from engine.services.catalog import Catalog, open_catalog, put_shops
from tests.listing.sandbox import running_sandbox

PLATFORMS = ("taobao", "tmall", "jd", "pdd", "douyin")
APP_KEY, SECRET = "sandbox-app", "sandbox-secret"
SHOP_SETTINGS: dict[str, Any] = {
    "location.state": "上海",
    "location.city": "上海",
    "freight_template_id": "ft-1",
    "service_mobile": "021-60000000",
}
_numbers = itertools.count(1)
# The tenant and brand of the listing job tests (tests/listing/jobs.py).
LISTING_TENANT, LISTING_BRAND = "t1", "Stridewell"


def running_shoe(spu_code: str, title: str = "Stridewell 轻量缓震跑鞋 2026新款") -> Product:
    """A running shoe with two sizes and every field the five platforms ask for."""
    skus = [
        SkuRecord(
            sku_code=f"{spu_code}-{size}",
            barcode="6901234567892",
            spec={"尺码": size},
            list_price="399.00",
            weight_g=350,
            length_mm=300,
            width_mm=200,
            height_mm=120,
            images=[f"https://img.example.com/{spu_code}/{size}.jpg"],
        )
        for size in ("40", "41")
    ]
    return Product(
        brand="b1",
        spu_code=spu_code,
        title=title,
        category=["鞋靴", "跑步鞋"],
        year=2026,
        season="春",
        description="轻量透气，详情见图。",
        images=["https://img.example.com/p/1.jpg", "https://img.example.com/p/2.jpg"],
        attributes={
            "品牌名": "Stridewell",
            "产地": "中国",
            "材质": "网布",
            "鞋底材质": "EVA",
            "适用性别": "男",
            "闭合方式": "系带",
            "跑鞋类型": "缓震型",
        },
        skus=skus,
    )


def payload_of(product: Product, platform: str, stock: int = 5) -> dict[str, Any]:
    """The catalog's payload of the product on the platform (ready: no issues)."""
    context = {**SHOP_SETTINGS, "stock": {s.sku_code: stock for s in product.skus}}
    found = check(product, platform, default_registry(), context)
    assert found.ok, found.issues
    return found.payload


def new_code(prefix: str = "P") -> str:
    return f"{prefix}{next(_numbers):05d}"


def connect_shop(
    root: str, platform: str, shop_id: str, secret: str = SECRET, timeout_s: float = 5.0
) -> WireAdapter:
    config = MarketplaceConfig(f"{root}/{platform}", APP_KEY, secret, timeout_s)
    return adapter_for(platform, shop_id, config)


@pytest.fixture(scope="module")
def sandbox_root() -> Iterator[str]:
    """A sandbox shared by the module's tests: the default config, but for room enough
    for a test's reads (the platforms' own limits on creates stay)."""
    roomy = {p: {"*": Limit(per_second=10_000)} for p in PLATFORMS}
    with running_sandbox(SandboxConfig(limits=roomy)) as root:
        yield root


@pytest.fixture
def shop_id() -> str:
    return new_code("shop-")


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    """A tenant's catalog (SQLite in tmp_path) with one shop of the test brand on every
    platform, `<platform>-s1`."""
    url = f"sqlite:///{tmp_path / 'omnistock.db'}"
    opened = open_catalog(url, migrate_now=True)
    shops = [
        {"id": f"{p}-s1", "brand": LISTING_BRAND, "platform": p, "settings": SHOP_SETTINGS}
        for p in PLATFORMS
    ]
    put_shops(opened, LISTING_TENANT, {"shops": shops}, "test", "test")
    yield opened
    opened.store.dispose()
