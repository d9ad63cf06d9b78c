"""The sandbox marketplace on its own: signed requests in each platform's shape over HTTP,
its refusals in the platform's words, call limits by the second and by the day, review by
time, seeded faults, its config file and `omnistock sandbox serve`."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from engine.cli import sandbox as cli
from engine.core.errors import InputError
from engine.listing.adapters.shapes import encode_form
from engine.listing.adapters.signing import canonical_params, douyin_sign, sorted_params_sign
from engine.listing.marketplace import ErrorCode, ListingError, Status
from engine.listing.sandbox import SandboxConfig, load_config
from engine.listing.sandbox.config import Limit, Review
from engine.listing.sandbox.market import CHINA_OFFSET_S, DAY_S
from tests.listing.conftest import (
    APP_KEY,
    SECRET,
    connect_shop,
    new_code,
    payload_of,
    running_shoe,
)
from tests.listing.sandbox import running_sandbox


def top_call(root: str, method: str, params: dict[str, Any], secret: str = SECRET) -> Any:
    """A TOP call made by hand, as any TOP client would make it."""
    form = {
        **encode_form(params),
        "method": method,
        "app_key": APP_KEY,
        "session": "shop-raw",
        "timestamp": "2026-03-01 10:00:00",
        "format": "json",
        "v": "2.0",
        "sign_method": "hmac",
    }
    form["sign"] = sorted_params_sign(form, secret, "hmac")
    return httpx.post(f"{root}/taobao/router/rest", data=form).json()


def test_top_by_hand_refusals_in_top_words(sandbox_root: str) -> None:
    payload = payload_of(running_shoe(new_code()), "taobao")
    missing = top_call(
        sandbox_root, "taobao.item.add", {k: v for k, v in payload.items() if k != "desc"}
    )
    error = missing["error_response"]
    assert (error["code"], error["sub_code"]) == (40, "isv.missing-parameter:desc")
    assert "desc" in error["sub_msg"]
    bad_sign = top_call(sandbox_root, "taobao.item.add", payload, secret="not-the-secret")
    assert bad_sign["error_response"]["code"] == 25
    assert "not-the-secret" not in json.dumps(bad_sign)
    unknown = top_call(sandbox_root, "taobao.item.fly", {})
    assert unknown["error_response"]["code"] == 22
    made = top_call(sandbox_root, "taobao.item.add", payload)
    item_id = made["item_add_response"]["item"]["num_iid"]
    found = top_call(sandbox_root, "taobao.items.custom.get", {"outer_id": payload["outer_id"]})
    [item] = found["items_custom_get_response"]["items"]["item"]
    assert item["num_iid"] == item_id and item["approve_status"] == "instock"
    assert item["audit_status"] == "AUDITING"  # the first poll started the review


def test_douyin_by_hand_signature_covers_the_body(sandbox_root: str) -> None:
    payload = payload_of(running_shoe(new_code()), "douyin")
    body = canonical_params(payload)
    stamp = "2026-03-01 10:00:00"
    sign = douyin_sign(APP_KEY, "product.addV2", body, stamp, SECRET, "hmac-sha256")
    query = {"app_key": APP_KEY, "method": "product.addV2", "access_token": "shop-raw",
             "timestamp": stamp, "v": "2", "sign_method": "hmac-sha256", "sign": sign}  # fmt: skip
    url = f"{sandbox_root}/douyin/product/addV2"
    ok = httpx.post(url, params=query, content=body.encode()).json()
    assert ok["code"] == 10000 and ok["data"]["product_id"]
    tampered = body.replace("轻量", "重量", 1).encode()
    refused = httpx.post(url, params=query, content=tampered).json()
    assert (refused["code"], refused["sub_code"]) == (30003, "isv.sign-invalid")


def test_unknown_shop_token_when_the_shops_are_listed(shop_id: str) -> None:
    config = SandboxConfig(shops={"jd": ["jd-known"]})
    with running_sandbox(config) as root:
        with connect_shop(root, "jd", "jd-known") as known:
            assert known.items() == []
        with connect_shop(root, "jd", shop_id) as stranger, pytest.raises(ListingError) as e:
            stranger.items()
    assert e.value.code == ErrorCode.AUTH and e.value.platform_code == "19"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_limits_per_second_and_per_day_per_shop() -> None:
    # Noon in China on some day; the clock stands still unless moved.
    clock = Clock(20_000 * DAY_S - CHINA_OFFSET_S + 12 * 3600)
    limits = {"pdd": {"pdd.goods.list.get": Limit(per_second=2, per_day=5)}}
    with (
        running_sandbox(SandboxConfig(limits=limits), clock=clock) as root,
        connect_shop(root, "pdd", "pdd-a") as shop,
        connect_shop(root, "pdd", "pdd-b") as other,
    ):
        shop.items()
        shop.items()
        with pytest.raises(ListingError) as second:
            shop.items()
        assert other.items() == []  # another shop has its own count
        clock.now += 1.0
        shop.items()
        shop.items()
        clock.now += 1.0
        shop.items()  # the fifth call today
        clock.now += 1.0
        with pytest.raises(ListingError) as day:
            shop.items()
        clock.now += 12 * 3600  # past midnight in China: a new day
        shop.items()
    assert second.value.platform_code == "70031" and second.value.retry_after_s == 1.0
    assert day.value.platform_code == "70032"
    assert day.value.retry_after_s == pytest.approx(12 * 3600 - 3, abs=0.01)


def test_the_pdd_create_limit_is_the_platforms() -> None:
    config = SandboxConfig()
    assert config.limit("pdd", "pdd.goods.add") == Limit(per_second=3, per_day=1200)
    assert config.limit("pdd", "pdd.goods.list.get").per_second == 10


def test_a_quota_of_zero_refuses_every_call(shop_id: str) -> None:
    config = SandboxConfig(limits={"tmall": {"*": Limit(per_second=0)}})
    with (
        running_sandbox(config) as root,
        connect_shop(root, "tmall", shop_id) as shop,
        pytest.raises(ListingError) as caught,
    ):
        shop.items()
    assert caught.value.code == ErrorCode.RATE_LIMITED


def test_review_by_time(shop_id: str) -> None:
    clock = Clock(1_800_000_000.0)
    config = SandboxConfig(review=Review(seconds=30))
    product = running_shoe(new_code())
    with running_sandbox(config, clock=clock) as root, connect_shop(root, "jd", shop_id) as shop:
        shop.publish(payload_of(product, "jd"))
        states = []
        for step in (0, 10, 10, 10):
            clock.now += step
            item = shop.get(product.spu_code)
            assert item is not None
            states.append(item.state.status)
    assert states == [Status.IN_REVIEW, Status.IN_REVIEW, Status.IN_REVIEW, Status.ON_SALE]


def _nodelay() -> httpx.HTTPTransport:
    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


def _outcomes(seed: int) -> list[int]:
    """The HTTP status of 30 calls against a sandbox failing 40% of them with 5xx."""
    config = SandboxConfig(fail_rate=0.4, timeout_share=0.0, seed=seed)
    out = []
    with running_sandbox(config) as root, httpx.Client(transport=_nodelay()) as client:
        for _ in range(30):
            form = {"type": "pdd.goods.list.get", "client_id": APP_KEY,
                    "access_token": "s", "timestamp": "1", "page": "1"}  # fmt: skip
            form["sign"] = sorted_params_sign(form, SECRET)
            out.append(client.post(f"{root}/pdd/api/router", data=form).status_code)
    return out


def test_faults_are_seeded() -> None:
    first, again, other = _outcomes(3), _outcomes(3), _outcomes(4)
    assert first == again
    assert first != other
    assert set(first) == {200, 502}


def test_a_request_over_the_size_limit_is_refused(shop_id: str) -> None:
    config = SandboxConfig(max_body_bytes=2_000)
    with (
        running_sandbox(config) as root,
        connect_shop(root, "pdd", shop_id) as shop,
        pytest.raises(ListingError) as caught,
    ):
        shop.publish(payload_of(running_shoe(new_code()), "pdd"))
    assert caught.value.code == ErrorCode.SCHEMA_REFUSAL
    assert "limit is 2000" in caught.value.message


def test_stock_outside_the_schema_is_refused_and_not_kept(sandbox_root: str, shop_id: str) -> None:
    product = running_shoe(new_code())
    code = product.skus[0].sku_code
    with connect_shop(sandbox_root, "tmall", shop_id) as shop:
        shop.publish(payload_of(product, "tmall", stock=5))
        with pytest.raises(ListingError) as caught:
            shop.update_stock(product.spu_code, {code: 1_000_000})
        with pytest.raises(ListingError) as unknown:
            shop.update_stock(product.spu_code, {"NO-SUCH-SKU": 1})
        item = shop.get(product.spu_code)
    assert caught.value.code == ErrorCode.SCHEMA_REFUSAL
    assert caught.value.field is not None and caught.value.field.endswith("quantity")
    assert unknown.value.code == ErrorCode.SCHEMA_REFUSAL
    assert item is not None and item.stock[code] == 5


@given(
    params=st.dictionaries(
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=8),
        st.text(st.characters(codec="utf-8"), max_size=12),
        min_size=1,
        max_size=6,
    ),
    secret=st.text(min_size=1, max_size=16),
    method=st.sampled_from(["md5", "hmac"]),
)
def test_a_signature_breaks_when_any_value_changes(
    params: dict[str, str], secret: str, method: str
) -> None:
    sign = sorted_params_sign(params, secret, method)
    assert sign == sorted_params_sign(dict(reversed(list(params.items()))), secret, method)
    key = sorted(params)[0]
    changed = {**params, key: params[key] + "x"}
    assert sorted_params_sign(changed, secret, method) != sign
    assert sorted_params_sign(params, secret + "x", method) != sign


# --- config and CLI ---------------------------------------------------------------------


def test_config_file_faults_are_named_together(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.yaml"
    path.write_text(
        "fail_rate: 1.5\nreview: {polls: -1}\nlimits: {pdd: {pdd.goods.add: {per_second: -3}}}\n"
        "colour: blue\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_config(path)
    paths = {i.path for i in caught.value.issues}
    assert {"fail_rate", "review.polls", "limits.pdd.pdd.goods.add.per_second", "colour"} <= paths
    other = tmp_path / "other.json"
    other.write_text('{"limits": {"amazon": {}}}', encoding="utf-8")
    with pytest.raises(InputError, match="amazon"):
        load_config(other)


def test_cli_serve_takes_the_file_and_the_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sandbox.yaml"
    path.write_text("banned_words: [最便宜]\nseed: 1\nfail_rate: 0.2\n", encoding="utf-8")
    served: dict[str, Any] = {}

    def fake_run(app: Any, host: str, port: int, log_level: str) -> None:
        served.update(config=app.state.market.config, host=host, port=port)

    monkeypatch.setattr(cli.uvicorn, "run", fake_run)
    runner = CliRunner()
    omnistock = typer.Typer()
    omnistock.add_typer(cli.sandbox, name="sandbox")  # as engine/cli/app.py will
    args = [
        "sandbox",
        "serve",
        "--port",
        "9123",
        "--drop-rate",
        "0.1",
        "--seed",
        "9",
        "--config",
        str(path),
    ]
    result = runner.invoke(omnistock, args)
    assert result.exit_code == 0, result.output
    config = served["config"]
    assert served["port"] == 9123 and config.banned_words == ["最便宜"]
    assert (config.fail_rate, config.drop_rate, config.seed) == (0.2, 0.1, 9)
    bad = runner.invoke(omnistock, ["sandbox", "serve", "--fail-rate", "2"])
    assert bad.exit_code == 2 and "fail_rate" in bad.output
    missing = runner.invoke(
        omnistock, ["sandbox", "serve", "--config", str(tmp_path / "nope.yaml")]
    )
    assert missing.exit_code == 2 and "file not found" in missing.output
