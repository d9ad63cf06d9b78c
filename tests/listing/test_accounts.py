"""The marketplace accounts file: parsing with every problem named by its path, secrets
kept out of every text, the order in which a shop's call limits are found, the sandbox
accounts against a real sandbox marketplace, and the setting that points at the file."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.core.errors import InputError
from engine.core.settings import Settings
from engine.listing.accounts import (
    SANDBOX_APP_KEY,
    SANDBOX_APP_SECRET,
    Accounts,
    accounts_from,
    load_accounts,
    parse_accounts,
)
from engine.listing.adapters import adapter_for
from engine.listing.adapters.shapes import DEFAULT_LIMITS, SHAPES, limit_for
from engine.listing.marketplace import ErrorCode, ListingError, Quota
from engine.listing.sandbox import SandboxConfig
from tests.listing.sandbox import running_sandbox

SECRET = "s3cr3t-Zq81-never-shown"
TOKEN = "tok-Hx42-never-shown"
OTHER_SECRET = "other-s3cr3t-Wp07"


def good() -> dict[str, Any]:
    return {
        "accounts": {
            "top": {
                "base_url": "https://eco.example.com",
                "app_key": "app-top",
                "app_secret": SECRET,
                "timeout_s": 7,
                "limits": {"*": {"per_second": 30}, "tmall.item.schema.add": {"per_day": 900}},
            },
            "sandbox": {
                "base_url": "http://127.0.0.1:8700/{platform}",
                "app_key": "sandbox-app",
                "app_secret": OTHER_SECRET,
            },
        },
        "shops": {
            "tm-b1": {
                "account": "top",
                "access_token": TOKEN,
                "limits": {
                    "*": {"per_second": 50, "per_day": 100_000},
                    "tmall.item.schema.update": {"per_second": 4},
                },
            },
            "pdd-b1": {"account": "sandbox"},
        },
        "default_account": "sandbox",
    }


def issues_of(doc: Any, source: str = "accounts.yaml") -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_accounts(doc, source)
    assert caught.value.source == source
    return [str(issue) for issue in caught.value.issues]


# --- reading good documents ---------------------------------------------------------------


def test_a_listed_shop_calls_with_its_account_and_token() -> None:
    accounts = parse_accounts(good(), "accounts.yaml")
    config = accounts.config_for("tm-b1", "tmall")
    assert config.base_url == "https://eco.example.com"
    assert (config.app_key, config.app_secret, config.access_token) == ("app-top", SECRET, TOKEN)
    assert config.timeout_s == 7.0
    assert accounts.app_key_of("tm-b1") == "app-top"
    assert accounts.account_of("tm-b1") == "top"
    # A URL without {platform} needs no platform.
    assert accounts.config_for("tm-b1").base_url == "https://eco.example.com"


def test_a_shop_without_a_token_or_entry_presents_its_id() -> None:
    accounts = parse_accounts(good())
    listed = accounts.config_for("pdd-b1", "pdd")
    assert listed.base_url == "http://127.0.0.1:8700/pdd"
    assert listed.access_token == "pdd-b1" and listed.timeout_s == 10.0
    # Not under shops: the default account, its id as token.
    other = accounts.config_for("jd-b9", "jd")
    assert (other.base_url, other.access_token) == ("http://127.0.0.1:8700/jd", "jd-b9")
    assert (other.app_key, other.app_secret) == ("sandbox-app", OTHER_SECRET)
    assert accounts.app_key_of("jd-b9") == "sandbox-app"


def test_a_platform_url_needs_the_platform() -> None:
    accounts = parse_accounts(good(), "accounts.yaml")
    with pytest.raises(InputError) as caught:
        accounts.config_for("pdd-b1")
    assert caught.value.source == "accounts.yaml"
    assert "accounts.sandbox.base_url" in str(caught.value)
    assert "pdd-b1" in str(caught.value)
    with pytest.raises(InputError, match="unknown platform 'shopee'") as unknown:
        accounts.config_for("pdd-b1", "shopee")
    assert unknown.value.source == "shop pdd-b1"


def test_no_default_refuses_an_unlisted_shop_by_name() -> None:
    doc = good()
    del doc["default_account"]
    accounts = parse_accounts(doc, "accounts.yaml")
    for ask in (
        lambda: accounts.config_for("tm-x", "tmall"),
        lambda: accounts.app_key_of("tm-x"),
        lambda: accounts.quota("tm-x", "tmall", "tmall.item.schema.add"),
        lambda: accounts.quotas_for("tm-x", "tmall"),
    ):
        with pytest.raises(InputError) as caught:
            ask()
        assert [str(i) for i in caught.value.issues] == [
            "shops.tm-x: shop tm-x has no marketplace account: add it under shops: in "
            "accounts.yaml or set default_account"
        ]
    assert accounts.config_for("tm-b1", "tmall").access_token == TOKEN


def test_none_refuses_every_shop_and_names_the_setting() -> None:
    accounts = Accounts.none()
    with pytest.raises(InputError) as caught:
        accounts.config_for("tm-b1", "tmall")
    message = str(caught.value)
    assert "shop tm-b1 has no marketplace account" in message
    assert "OMNISTOCK_MARKETPLACES_FILE" in message and "default_account" in message
    with pytest.raises(InputError, match="jd-b1"):
        accounts.app_key_of("jd-b1")


# --- every problem, by its path -------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = doc
        for part in parents:
            node = node[part]
        node[last] = value

    return edit


def _drop(path: str) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = doc
        for part in parents:
            node = node[part]
        del node[last]

    return edit


BAD: list[tuple[str, Edit, str]] = [
    ("unknown top field", _set("secrets", SECRET), "secrets: unknown field"),
    ("no accounts", _drop("accounts"), "accounts: required field is missing"),
    ("empty accounts", _set("accounts", {}), "accounts: no accounts: name at least one"),
    ("accounts not a mapping", _set("accounts", [1]), "accounts: must be a mapping of names"),
    (
        "unknown account ref",
        _set("shops/tm-b1/account", "x"),
        "shops.tm-b1.account: no account 'x' (known: sandbox, top)",
    ),
    ("unknown default", _set("default_account", "y"), "default_account: no account 'y'"),
    ("default not text", _set("default_account", 3), "default_account: an account name"),
    ("empty key", _set("accounts/top/app_key", ""), "accounts.top.app_key: empty app key"),
    ("blank secret", _set("accounts/top/app_secret", "  "), "accounts.top.app_secret: empty"),
    (
        "spaced secret",
        _set("accounts/top/app_secret", SECRET + "\n"),
        "accounts.top.app_secret: secret has spaces at its start or end",
    ),
    (
        "number secret",
        _set("accounts/top/app_secret", 918273645),
        "accounts.top.app_secret: must be text (quote it in YAML)",
    ),
    ("no secret", _drop("accounts/top/app_secret"), "accounts.top.app_secret: required"),
    (
        "unknown account field",
        _set("accounts/top/secret", SECRET),
        "accounts.top.secret: unknown field",
    ),
    (
        "ftp url",
        _set("accounts/top/base_url", "ftp://files.example.com"),
        "accounts.top.base_url: must start with http:// or https://, got 'ftp'",
    ),
    ("no host", _set("accounts/top/base_url", "https://"), "accounts.top.base_url: not a URL"),
    ("bare word url", _set("accounts/top/base_url", "eco"), "accounts.top.base_url: must start"),
    ("bad port", _set("accounts/top/base_url", "http://h:port"), "accounts.top.base_url: not a"),
    (
        "other braces",
        _set("accounts/top/base_url", "https://h/{shop}"),
        "accounts.top.base_url: only {platform} may stand in braces",
    ),
    (
        "user in url",
        _set("accounts/top/base_url", f"https://me:{SECRET}@h.example.com"),
        "accounts.top.base_url: no user or password in the URL",
    ),
    (
        "query in url",
        _set("accounts/top/base_url", f"https://h.example.com/?token={SECRET}"),
        "accounts.top.base_url: no query or fragment",
    ),
    ("zero timeout", _set("accounts/top/timeout_s", 0), "accounts.top.timeout_s: Input should"),
    ("negative timeout", _set("accounts/top/timeout_s", -2), "got -2"),
    ("text timeout", _set("accounts/top/timeout_s", "10"), "accounts.top.timeout_s: must be a"),
    (
        "negative per_second",
        _set("shops/tm-b1/limits/*/per_second", -1),
        "shops.tm-b1.limits.*.per_second: Input should be greater than or equal to 0, got -1",
    ),
    (
        "fractional per_day",
        _set("shops/tm-b1/limits/*/per_day", 2.5),
        "shops.tm-b1.limits.*.per_day: must be a whole number, got 2.5",
    ),
    (
        "infinite per_second",
        _set("accounts/top/limits/*/per_second", float("inf")),
        "accounts.top.limits.*.per_second: must be a finite number",
    ),
    (
        "empty limit",
        _set("shops/tm-b1/limits/*", {}),
        "shops.tm-b1.limits.*: give per_second, per_day or both",
    ),
    (
        "unknown method",
        _set("shops/tm-b1/limits/tmall.item.ad", {"per_second": 1}),
        "shops.tm-b1.limits.tmall.item.ad: not a method of any platform's adapter",
    ),
    (
        "unknown limit field",
        _set("shops/tm-b1/limits/*/per_minute", 5),
        "shops.tm-b1.limits.*.per_minute: unknown field",
    ),
    ("shop not a mapping", _set("shops/tm-b1", TOKEN), "shops.tm-b1: must be a mapping"),
    ("shop id with space", _set("shops/tm b1", {"account": "top"}), "shops.tm b1: a name"),
    ("shop id a number", lambda doc: doc["shops"].update({1001: {}}), "shops.1001: a name"),
    ("shop without account", _drop("shops/tm-b1/account"), "shops.tm-b1.account: required"),
    (
        "empty token",
        _set("shops/tm-b1/access_token", ""),
        "shops.tm-b1.access_token: empty access token",
    ),
    (
        "spaced token",
        _set("shops/tm-b1/access_token", " " + TOKEN),
        "shops.tm-b1.access_token: access token has spaces",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_problem_is_named_by_its_path(edit: Edit, expected: str) -> None:
    doc = good()
    edit(doc)
    found = issues_of(doc)
    assert len(found) == 1, found
    assert found[0].startswith(expected) or expected in found[0], found


def test_every_problem_is_reported_at_once() -> None:
    doc = good()
    for _, edit, _ in BAD[4:]:  # all but the ones that remove or empty `accounts`
        with contextlib.suppress(KeyError, TypeError):  # an entry an earlier edit replaced
            edit(doc)
    found = issues_of(doc)
    # Edits of the same field overwrite each other; every field left bad is named.
    paths = {issue.split(": ")[0] for issue in found}
    assert {
        "shops.tm-b1",
        "default_account",
        "accounts.top.app_key",
        "accounts.top.app_secret",
        "accounts.top.secret",
        "accounts.top.base_url",
        "accounts.top.timeout_s",
        "accounts.top.limits.*.per_second",
        "shops.tm b1",
        "shops.1001",
    } <= paths, found
    # A bad account is still a known name: shops naming it are not blamed as well.
    doc = good()
    doc["accounts"]["top"]["timeout_s"] = 0
    doc["shops"]["tm-b1"]["account"] = "nope"
    assert [i.split(":")[0] for i in issues_of(doc)] == [
        "accounts.top.timeout_s",
        "shops.tm-b1.account",
    ]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [(None, "got an empty file"), ([1, 2], "got a list"), ("accounts", "got a str")],
)
def test_a_document_of_the_wrong_shape_is_refused_whole(doc: Any, expected: str) -> None:
    found = issues_of(doc)
    assert len(found) == 1 and expected in found[0] and "accounts:" in found[0]


def test_zero_limits_are_allowed() -> None:
    doc = good()
    doc["shops"]["tm-b1"]["limits"] = {"*": {"per_second": 0, "per_day": 0}}
    accounts = parse_accounts(doc)
    assert accounts.quota("tm-b1", "tmall", "tmall.item.schema.add") == Quota(
        "tmall.item.schema.add", 0.0, 0
    )


# --- files on disk and the setting ----------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_a_file_on_disk(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"marketplaces{suffix}"
    text = json.dumps(good()) if suffix == ".json" else yaml.safe_dump(good())
    path.write_text(text, encoding="utf-8")
    accounts = load_accounts(path)
    assert accounts.source == str(path)
    assert accounts.config_for("tm-b1", "tmall").access_token == TOKEN
    assert accounts.quota("tm-b1", "tmall", "tmall.item.schema.update").per_second == 4.0


def test_a_handwritten_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "marketplaces.yaml"
    path.write_text(
        "accounts:\n"
        "  sandbox: {base_url: 'http://127.0.0.1:8700/{platform}', app_key: sandbox-app,\n"
        "            app_secret: sandbox-secret, timeout_s: 10}\n"
        "shops:\n"
        "  tm-b1: {account: sandbox, access_token: tm-b1-token,\n"
        "          limits: {'*': {per_second: 50, per_day: 100000},\n"
        "                   taobao.item.add: {per_second: 2}}}\n"
        "default_account: sandbox\n",
        encoding="utf-8",
    )
    accounts = load_accounts(path)
    assert accounts.quota("tm-b1", "taobao", "taobao.item.add") == Quota(
        "taobao.item.add", 2.0, 100_000
    )
    assert accounts.config_for("jd-b1", "jd").base_url == "http://127.0.0.1:8700/jd"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("missing.yaml", None, "file not found"),
        ("broken.yaml", "accounts: [unclosed\n", "line "),
        ("broken.json", '{"accounts": ', "line 1"),
        ("twice.yaml", "accounts: {}\naccounts: {}\n", "duplicate key 'accounts'"),
        ("accounts.toml", "x = 1\n", "unsupported file type"),
        ("empty.yaml", "", "got an empty file"),
        ("list.json", "[]", "got a list"),
    ],
)
def test_a_bad_file_is_named(tmp_path: Path, name: str, text: str | None, expected: str) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_accounts(path)
    assert caught.value.source == str(path)
    assert expected in str(caught.value)


def test_settings_pick_up_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OMNISTOCK_MARKETPLACES_FILE", raising=False)
    assert Settings().marketplaces_file is None
    with pytest.raises(InputError, match="no marketplace account"):
        accounts_from(Settings()).config_for("tm-b1", "tmall")

    path = tmp_path / "marketplaces.json"
    path.write_text(json.dumps(good()), encoding="utf-8")
    monkeypatch.setenv("OMNISTOCK_MARKETPLACES_FILE", str(path))
    settings = Settings()
    assert settings.marketplaces_file == path
    assert accounts_from(settings).app_key_of("tm-b1") == "app-top"

    monkeypatch.setenv("OMNISTOCK_MARKETPLACES_FILE", str(tmp_path / "gone.yaml"))
    with pytest.raises(InputError, match="file not found"):
        accounts_from(Settings())


# --- secrets ------------------------------------------------------------------------------


def test_secrets_never_show_in_objects(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    accounts = parse_accounts(good(), "accounts.yaml")
    config = accounts.config_for("tm-b1", "tmall")
    shown = [
        repr(accounts),
        str(accounts),
        f"{accounts}",
        repr(config),
        str(config),
        *(repr(a) for a in accounts._accounts.values()),
        *(str(s) for s in accounts._shops.values()),
        repr(accounts.quotas_for("tm-b1", "tmall")),
    ]
    for text in shown:
        for secret in (SECRET, TOKEN, OTHER_SECRET, "app-top"):
            assert secret not in text, text
    # Dumps carry the app key (no secret, and the platform sees it in every call), never
    # the secret or a token.
    dumped = [
        *(a.model_dump_json() for a in accounts._accounts.values()),
        *(str(s.model_dump()) for s in accounts._shops.values()),
        caplog.text,
    ]
    for text in dumped:
        for secret in (SECRET, TOKEN, OTHER_SECRET):
            assert secret not in text, text
    assert "top" in repr(accounts) and "tm-b1" in repr(accounts)


def _misplaced() -> Iterator[dict[str, Any]]:
    """Documents with a secret in the wrong place, where a careless error would echo it."""
    for edit in (
        _set("accounts/top/timeout_s", SECRET),
        _set("accounts/top/limits/*/per_second", SECRET),
        _set("accounts/top/limits", SECRET),
        _set("accounts/top/app_key", 12),
        _set("shops/tm-b1", SECRET),
        _set("shops/tm-b1/access_token", [TOKEN]),
        _set("shops/tm-b1/token", TOKEN),
        _set("shops/tm-b1/limits/*/per_day", TOKEN),
        _set("accounts/top/base_url", f"https://user:{SECRET}@example.com/"),
        _set("accounts/top/base_url", f"{SECRET}://example.com/"),
        _set("accounts/top/app_secret", f" {SECRET} "),
        _set("default_account", TOKEN + " x"),
        _set("extra", {"nested": TOKEN}),
    ):
        doc = good()
        edit(doc)
        yield doc


def test_secrets_never_show_in_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen = 0
    for doc in _misplaced():
        with pytest.raises(InputError) as caught:
            parse_accounts(doc, "accounts.yaml")
        text = str(caught.value) + repr(caught.value) + repr(caught.value.issues)
        for secret in (SECRET, TOKEN, OTHER_SECRET):
            assert secret not in text, text
        seen += 1
    assert seen == 13
    assert SECRET not in caplog.text and TOKEN not in caplog.text


# --- call limits --------------------------------------------------------------------------


def test_quota_resolution_order() -> None:
    doc = good()
    doc["accounts"]["top"]["limits"] = {
        "*": {"per_second": 30, "per_day": 70_000},
        "tmall.item.schema.add": {"per_second": 6, "per_day": 900},
    }
    doc["shops"]["tm-b1"]["limits"] = {
        "*": {"per_second": 50},
        "tmall.item.schema.update": {"per_second": 4, "per_day": 800},
    }
    doc["shops"]["tm-b2"] = {"account": "top"}
    accounts = parse_accounts(doc)

    def q(shop: str, method: str, platform: str = "tmall") -> tuple[float, int]:
        quota = accounts.quota(shop, platform, method)
        assert quota.method == method
        return quota.per_second, quota.per_day

    # The shop's own entry for the method.
    assert q("tm-b1", "tmall.item.schema.update") == (4.0, 800)
    # The shop's "*" before the account's entry for the method; per_day, which the
    # shop's "*" leaves out, from the account's entry for the method.
    assert q("tm-b1", "tmall.item.schema.add") == (50.0, 900)
    # The shop's "*", then the account's "*".
    assert q("tm-b1", "taobao.skus.quantity.update") == (50.0, 70_000)
    # No shop entries: the account's method, then its "*".
    assert q("tm-b2", "tmall.item.schema.add") == (6.0, 900)
    assert q("tm-b2", "taobao.skus.quantity.update") == (30.0, 70_000)
    # An account without limits: the platform's defaults, method before "*".
    plain = Accounts.sandbox("http://127.0.0.1:8700")
    assert plain.quota("pdd-b1", "pdd", "pdd.goods.add") == limit_for(
        DEFAULT_LIMITS, "pdd", "pdd.goods.add"
    )
    assert plain.quota("pdd-b1", "pdd", "pdd.goods.add").per_second == 3.0
    assert plain.quota("pdd-b1", "pdd", "pdd.goods.list.get").per_second == 10.0
    with pytest.raises(InputError, match="unknown platform 'ebay'"):
        plain.quota("pdd-b1", "ebay", "x")


def test_quotas_for_covers_the_adapters_methods() -> None:
    accounts = Accounts.sandbox("http://127.0.0.1:8700")
    for platform in SHAPES:
        config = accounts.config_for("shop-1", platform)
        with adapter_for(platform, "shop-1", config) as adapter:
            expected = {q.method: q for q in adapter.quota()}
        assert accounts.quotas_for("shop-1", platform) == expected
    tight = Accounts.sandbox("http://127.0.0.1:8700", per_second=50, per_day=5000)
    quotas = tight.quotas_for("dy-1", "douyin")
    assert set(quotas) == {
        q.method for q in adapter_for("douyin", "d", tight.config_for("d", "douyin")).quota()
    }
    assert {(q.per_second, q.per_day) for q in quotas.values()} == {(50.0, 5000)}


# --- the sandbox ------------------------------------------------------------------------------


def test_sandbox_accounts() -> None:
    accounts = Accounts.sandbox("http://127.0.0.1:8700/", shops=["tm-b1", "pdd-b1"], per_day=10)
    assert accounts.default_account == "sandbox"
    assert accounts.account_of("tm-b1") == accounts.account_of("other") == "sandbox"
    config = accounts.config_for("tm-b1", "tmall")
    assert config.base_url == "http://127.0.0.1:8700/tmall"
    assert (config.app_key, config.app_secret) == (SANDBOX_APP_KEY, SANDBOX_APP_SECRET)
    assert config.access_token == "tm-b1"
    assert accounts.quota("pdd-b1", "pdd", "pdd.goods.add") == Quota("pdd.goods.add", 3.0, 10)
    assert "tm-b1" in repr(accounts) and "pdd-b1" in repr(accounts)
    # A URL that already says where the platform goes is kept.
    same = Accounts.sandbox("http://sb.example.com:9/api/{platform}/v1")
    assert same.config_for("x", "jd").base_url == "http://sb.example.com:9/api/jd/v1"
    with pytest.raises(InputError, match="accounts.sandbox.base_url"):
        Accounts.sandbox("127.0.0.1:8700")
    with pytest.raises(InputError, match="per_second"):
        Accounts.sandbox("http://127.0.0.1:8700", per_second=-1)


@pytest.fixture(scope="module")
def strict_sandbox() -> Iterator[str]:
    """A sandbox that knows only the shop tm-b1 (its access token)."""
    with running_sandbox(SandboxConfig(shops={"tmall": ["tm-b1"]})) as root:
        yield root


def test_sandbox_accounts_call_a_real_sandbox(strict_sandbox: str) -> None:
    accounts = Accounts.sandbox(strict_sandbox)
    with adapter_for("tmall", "tm-b1", accounts.config_for("tm-b1", "tmall")) as shop:
        assert shop.items() == []
    # A file giving the shop another token: the sandbox refuses it, so the token is sent.
    doc = good()
    doc["accounts"]["sandbox"]["base_url"] = strict_sandbox + "/{platform}"
    doc["accounts"]["sandbox"]["app_secret"] = SANDBOX_APP_SECRET
    doc["shops"]["tm-b1"] = {"account": "sandbox", "access_token": TOKEN}
    refused = parse_accounts(doc)
    with (
        adapter_for("tmall", "tm-b1", refused.config_for("tm-b1", "tmall")) as shop,
        pytest.raises(ListingError) as caught,
    ):
        shop.items()
    assert caught.value.code == ErrorCode.AUTH
    assert TOKEN not in str(caught.value)
