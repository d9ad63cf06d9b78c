"""The adapters against the sandbox marketplace over real HTTP on loopback: publish,
review, stock, price, delist, read-back, and every kind of failure as our errors."""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.errors import InputError
from engine.listing.adapters import adapter_for
from engine.listing.adapters.base import fen, yuan_text
from engine.listing.adapters.shapes import CATALOGUES, SHAPES, classify
from engine.listing.marketplace import (
    RETRYABLE,
    ErrorCode,
    ListingError,
    MarketplaceConfig,
    Status,
)
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit, Review
from engine.listing.sandbox.market import Refusal
from engine.listing.sandbox.wire import error_body
from tests.listing.conftest import (
    APP_KEY,
    PLATFORMS,
    SECRET,
    connect_shop,
    new_code,
    payload_of,
    running_shoe,
)
from tests.listing.sandbox import running_sandbox


@pytest.mark.parametrize("platform", PLATFORMS)
def test_publish_review_on_sale_update_delist(
    sandbox_root: str, shop_id: str, platform: str
) -> None:
    product = running_shoe(new_code())
    payload = payload_of(product, platform, stock=5)
    codes = [s.sku_code for s in product.skus]
    with connect_shop(sandbox_root, platform, shop_id) as shop:
        first = shop.publish(payload)
        assert first.created and first.state.status == Status.ACCEPTED
        # The default review: in review at the first poll, on sale at the second.
        seen = [shop.get(product.spu_code) for _ in range(3)]
        assert [i.state.status for i in seen if i] == [
            Status.IN_REVIEW,
            Status.ON_SALE,
            Status.ON_SALE,
        ]
        item = seen[-1]
        assert item is not None
        # Read-back is the intent: the payload as sent, the prices and stock per SKU.
        assert item.payload == payload
        assert item.title == product.title and item.item_id == first.item_id
        assert item.prices == dict.fromkeys(codes, Decimal("399.00"))
        assert item.stock == dict.fromkeys(codes, 5)

        shop.update_stock(product.spu_code, {codes[0]: 12, codes[1]: 0})
        shop.update_price(product.spu_code, {codes[1]: Decimal("349.5")})
        item = shop.get(product.spu_code)
        assert item is not None
        assert item.stock == {codes[0]: 12, codes[1]: 0}
        assert item.prices == {codes[0]: Decimal("399.00"), codes[1]: Decimal("349.50")}
        assert item.state.status == Status.ON_SALE  # stock and price do not re-review

        # Publishing again finds the item by outer id: an update, never a second item.
        again = shop.publish(payload)
        assert not again.created and again.item_id == first.item_id
        shop.delist(product.spu_code)
        listed = shop.items()
        assert [(i.outer_id, i.state.status) for i in listed] == [
            (product.spu_code, Status.DELISTED)
        ]
        assert shop.get("no-such-product") is None


def test_reads_every_page(sandbox_root: str, shop_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spus = [new_code() for _ in range(3)]  # pdd.goods.add allows 3 a second
    # Pages of two over three items: two pages, every item once.
    monkeypatch.setattr("engine.listing.adapters.base.PAGE_SIZE", 2)
    monkeypatch.setattr("engine.listing.adapters.pdd.PAGE_SIZE", 2)
    with connect_shop(sandbox_root, "pdd", shop_id) as shop:
        for spu in spus:
            shop.publish(payload_of(running_shoe(spu), "pdd"))
        assert sorted(i.outer_id for i in shop.items()) == sorted(spus)


def test_rejected_in_review_with_the_reason(shop_id: str) -> None:
    config = SandboxConfig(banned_words=["最便宜"], review=Review(polls=1))
    product = running_shoe(new_code(), title="Stridewell 全网最便宜跑鞋")
    with running_sandbox(config) as root, connect_shop(root, "douyin", shop_id) as shop:
        shop.publish(payload_of(product, "douyin"))
        item = shop.get(product.spu_code)
        assert item is not None and item.state.status == Status.REJECTED
        assert "最便宜" in item.state.reason


def test_quota_is_retryable_with_the_wait(shop_id: str) -> None:
    config = SandboxConfig(limits={"pdd": {"pdd.goods.list.get": Limit(per_second=2)}})
    with (
        running_sandbox(config) as root,
        connect_shop(root, "pdd", shop_id) as shop,
        pytest.raises(ListingError) as caught,
    ):
        for _ in range(10):  # far more than two in the same second
            shop.get("P-any")
    error = caught.value
    assert error.code == ErrorCode.RATE_LIMITED and error.retryable
    assert error.retry_after_s is not None and 0 < error.retry_after_s <= 1.0
    assert error.platform_code == "70031"


_BROKEN: dict[str, tuple[str, str, Any]] = {
    # platform: (a field removed, a field given a refused value, that value)
    "taobao": ("title", "stuff_status", "used"),
    "tmall": ("title", "quantity", -1),
    "jd": ("brandName", "weight", 0),
    "pdd": ("goods_name", "shipment_limit_second", 5),
    "douyin": ("name", "mobile", "not a phone"),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_schema_refusals_need_a_fix_and_name_the_field(
    sandbox_root: str, shop_id: str, platform: str
) -> None:
    removed, refused, value = _BROKEN[platform]
    payload = payload_of(running_shoe(new_code()), platform)
    with connect_shop(sandbox_root, platform, shop_id) as shop:
        with pytest.raises(ListingError) as missing:
            shop.publish({k: v for k, v in payload.items() if k != removed})
        with pytest.raises(ListingError) as invalid:
            shop.publish({**payload, refused: value})
        assert shop.items() == []  # nothing was kept
    assert missing.value.code == ErrorCode.MISSING_ATTRIBUTE
    assert missing.value.field == removed and not missing.value.retryable
    assert invalid.value.code == ErrorCode.SCHEMA_REFUSAL
    assert invalid.value.field == refused and not invalid.value.retryable
    assert refused in invalid.value.message


def test_missing_attribute_inside_the_properties(sandbox_root: str, shop_id: str) -> None:
    payload = payload_of(running_shoe(new_code()), "pdd")
    props = {k: v for k, v in payload["goods_properties"].items() if k != "材质"}
    with connect_shop(sandbox_root, "pdd", shop_id) as shop, pytest.raises(ListingError) as e:
        shop.publish({**payload, "goods_properties": props})
    assert e.value.code == ErrorCode.MISSING_ATTRIBUTE
    assert e.value.field == "goods_properties.材质"


def test_banned_word_and_brand_authorisation_need_a_fix(shop_id: str) -> None:
    config = SandboxConfig(
        refused_words=["国家级"], brand_authorisation={shop_id: ["SomeOtherBrand"]}
    )
    worded = running_shoe(new_code(), title="Stridewell 国家级跑鞋")
    with running_sandbox(config) as root, connect_shop(root, "jd", shop_id) as shop:
        with pytest.raises(ListingError) as banned:
            shop.publish(payload_of(worded, "jd"))
        with pytest.raises(ListingError) as brand:
            shop.publish(payload_of(running_shoe(new_code()), "jd"))
    assert banned.value.code == ErrorCode.BANNED_WORD and not banned.value.retryable
    assert brand.value.code == ErrorCode.NO_BRAND_AUTHORISATION
    assert not brand.value.retryable


def test_server_errors_and_timeouts_are_retryable(shop_id: str) -> None:
    server = SandboxConfig(fail_rate=1.0, timeout_share=0.0)
    with (
        running_sandbox(server) as root,
        connect_shop(root, "tmall", shop_id) as shop,
        pytest.raises(ListingError) as caught,
    ):
        shop.get("P-1")
    assert caught.value.code == ErrorCode.SERVER and caught.value.retryable
    slow = SandboxConfig(fail_rate=1.0, timeout_share=1.0, timeout_sleep_s=0.5)
    with (
        running_sandbox(slow) as root,
        connect_shop(root, "jd", shop_id, timeout_s=0.1) as shop,
        pytest.raises(ListingError) as caught,
    ):
        shop.get("P-1")
    assert caught.value.code == ErrorCode.TIMEOUT and caught.value.retryable


def test_retried_publishes_under_faults_list_each_product_once(shop_id: str) -> None:
    """A third of the calls fail: 5xx (nothing done) or time-outs (done anyway, 0.2 s late).
    Retrying each publish - after a time-out, once the late call has landed - leaves
    exactly one item per product: the retry's look-up by outer id finds what the timed-out
    create made. (Retrying sooner can list twice: the listing job must wait out the
    platform's processing time after a time-out.)"""
    config = SandboxConfig(fail_rate=0.35, timeout_share=0.5, timeout_sleep_s=0.2, seed=7)
    spus = [new_code() for _ in range(4)]
    with (
        running_sandbox(config) as root,
        connect_shop(root, "taobao", shop_id, timeout_s=0.1) as shop,
    ):
        for spu in spus:
            payload = payload_of(running_shoe(spu), "taobao")
            _until_done(lambda payload=payload: shop.publish(payload))
        listed = _until_done(shop.items)
    assert sorted(i.outer_id for i in listed) == sorted(spus)


def _until_done(call: Any, attempts: int = 60, after_timeout_s: float = 0.4) -> Any:
    for _ in range(attempts):
        try:
            return call()
        except ListingError as error:
            assert error.retryable, error
            if error.code == ErrorCode.TIMEOUT:
                time.sleep(after_timeout_s)
    raise AssertionError("never succeeded")


def test_a_dropped_update_is_seen_on_read_back(shop_id: str) -> None:
    product = running_shoe(new_code())
    code = product.skus[0].sku_code
    with (
        running_sandbox(SandboxConfig(drop_rate=1.0)) as root,
        connect_shop(root, "douyin", shop_id) as shop,
    ):
        shop.publish(payload_of(product, "douyin", stock=5))
        shop.update_stock(product.spu_code, {code: 40})  # answered ok
        item = shop.get(product.spu_code)
    assert item is not None and item.stock[code] == 5


@pytest.mark.parametrize("platform", PLATFORMS)
def test_wrong_secret_is_an_auth_error_and_credentials_stay_secret(
    sandbox_root: str, shop_id: str, platform: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-secret-d41d8cd9"
    caplog.set_level(logging.DEBUG)
    with connect_shop(sandbox_root, platform, shop_id, secret=wrong) as shop:
        with pytest.raises(ListingError) as caught:
            shop.publish(payload_of(running_shoe(new_code()), platform))
        shown = f"{shop._config!r} {caught.value} {caught.value.message}"
    assert caught.value.code == ErrorCode.AUTH and not caught.value.retryable
    for secret in (wrong, SECRET, APP_KEY):
        assert secret not in shown
        assert secret not in caplog.text
    # The adapter did log its calls and the refusal - without the credentials.
    ours = [r for r in caplog.records if r.name == "engine.listing"]
    assert any("refused" in r.getMessage() for r in ours)


def test_adapter_for_refuses_unknown_platform_and_missing_credentials() -> None:
    with pytest.raises(InputError) as caught:
        adapter_for("amazon", "shop-1", MarketplaceConfig("http://x", "", "", 0))
    text = str(caught.value)
    assert "shop shop-1" in text and "unknown platform" in text
    assert "credentials" in text and "timeout_s" in text


def test_money_in_whole_fen() -> None:
    assert fen(Decimal("399.5")) == 39950 and yuan_text(Decimal("7")) == "7.00"
    for bad in (Decimal("1.234"), Decimal("0"), Decimal("-3")):
        with pytest.raises(InputError):
            fen(bad, "prices[X]")


# --- every platform error code is classified --------------------------------------------


@pytest.mark.parametrize(
    ("family", "entry"),
    [(family, entry) for family, entries in CATALOGUES.items() for entry in entries],
    ids=lambda v: v if isinstance(v, str) else f"{v.code}{'/' + v.sub_code if v.sub_code else ''}",
)
def test_every_platform_code_maps_to_its_kind(family: str, entry: Any) -> None:
    """Through the wire: the sandbox's rendering of the code, read by the adapter."""
    assert classify(family, entry.code, entry.sub_code) == entry.ours
    platform = next(p for p, s in SHAPES.items() if s.family == family)
    adapter = adapter_for(platform, "shop-1", MarketplaceConfig("http://x", "k", "s"))
    method = SHAPES[platform].add
    refusal = Refusal(entry.ours, "retry in 2 seconds", "title", platform_code=entry.code)
    body = error_body(platform, method, refusal)
    with pytest.raises(ListingError) as caught:
        adapter._unwrap(method, body)
    assert caught.value.code == entry.ours
    assert caught.value.retryable == (entry.ours in RETRYABLE)
    if entry.ours == ErrorCode.RATE_LIMITED:
        assert caught.value.retry_after_s == 2.0
    if entry.ours in (ErrorCode.MISSING_ATTRIBUTE, ErrorCode.SCHEMA_REFUSAL):
        assert caught.value.field == "title"


def test_every_family_has_a_code_for_every_kind() -> None:
    kinds = set(ErrorCode) - {ErrorCode.UNKNOWN}
    for family, entries in CATALOGUES.items():
        assert {e.ours for e in entries} == kinds, family


@given(
    family=st.sampled_from(sorted(CATALOGUES)),
    code=st.text(max_size=6),
    sub_code=st.text(max_size=20),
)
def test_any_answer_gets_a_kind(family: str, code: str, sub_code: str) -> None:
    """Whatever a platform answers, classify gives a kind; a code the catalogue does not
    list is UNKNOWN - a person looks at it, it is never retried blindly."""
    kind = classify(family, code, sub_code)
    assert isinstance(kind, ErrorCode)
    if code not in {e.code for e in CATALOGUES[family]}:
        assert kind == ErrorCode.UNKNOWN
