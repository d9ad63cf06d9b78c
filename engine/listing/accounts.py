"""Marketplace accounts: as which app registration each shop calls its platform, with
which access token, and how many calls it may make.

The accounts file (OMNISTOCK_MARKETPLACES_FILE, YAML or JSON):

    accounts:                      # app registrations, under names of ours
      sandbox: {base_url: "http://127.0.0.1:8700/{platform}", app_key: sandbox-app,
                app_secret: sandbox-secret, timeout_s: 10}
      top-agency: {base_url: "https://eco.taobao.com", app_key: "...", app_secret: "...",
                   limits: {"*": {per_second: 40}}}
    shops:                         # per shop: its account, its token, its own limits
      tm-b1: {account: top-agency, access_token: "...",
              limits: {"*": {per_second: 50, per_day: 100000},
                       tmall.item.schema.add: {per_second: 5}}}
    default_account: sandbox       # optional: any shop not under shops: calls as this one

A base URL may hold `{platform}`: one account then serves every platform below it (the
sandbox marketplace answers at <root>/<platform>). A shop without an access_token
presents its own id, as the sandbox expects.

The app secret and the access tokens are secrets: no repr, str or error of this module
shows them. Errors echo no text value of the file but account names (a secret typed in
the wrong field must not leak either); they name the field at fault instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from engine.catalog.model import Code
from engine.core.errors import InputError, Issue
from engine.core.io import dotted_path, read_document
from engine.core.settings import Settings
from engine.listing.adapters.shapes import DEFAULT_LIMITS, SHAPES, limit_for
from engine.listing.marketplace import MarketplaceConfig, Quota

__all__ = [
    "SANDBOX_APP_KEY",
    "SANDBOX_APP_SECRET",
    "Account",
    "Accounts",
    "Limit",
    "ShopAccount",
    "accounts_from",
    "load_accounts",
    "parse_accounts",
]

SANDBOX_APP_KEY = "sandbox-app"
SANDBOX_APP_SECRET = "sandbox-secret"
PLATFORM_SLOT = "{platform}"
# Every call name some platform's adapter makes: a limit for any other name is a typo.
KNOWN_METHODS = frozenset(
    [m for s in SHAPES.values() for m in (s.add, s.update, s.stock, s.price, s.delist, s.get)]
    + [m for s in SHAPES.values() for m in s.pages]
    + [m for table in DEFAULT_LIMITS.values() for m in table]
)
_WHERE = "the marketplace accounts file (OMNISTOCK_MARKETPLACES_FILE)"

Method = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Calls = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Limit(_Strict):
    """Calls of one method (or of every method, under "*"). A number left out comes from
    the next place down (see Accounts.quota); 0 means no calls at all."""

    per_second: Calls | None = None
    per_day: Annotated[int, Field(ge=0)] | None = None


class Account(_Strict):
    """One app registration on a platform (or on the sandbox, for all of them)."""

    base_url: Annotated[str, StringConstraints(max_length=2000)]
    app_key: str = Field(repr=False, max_length=500)  # not secret, but no one's business
    app_secret: SecretStr = Field(max_length=500)
    timeout_s: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] = 10.0
    limits: dict[Method, Limit] = {}  # what the platform granted the app, for every shop


class ShopAccount(_Strict):
    account: Code
    access_token: SecretStr | None = Field(default=None, max_length=4000)
    limits: dict[Method, Limit] = {}


class Accounts:
    """The accounts of every shop: what an adapter needs to call as the shop
    (config_for), the shop's call limits (quota, quotas_for) and the app key the pacer
    counts them under (app_key_of). Made by parse_accounts / load_accounts, sandbox()
    or none(); a shop with no account is refused with an InputError naming it."""

    def __init__(
        self,
        accounts: Mapping[str, Account],
        shops: Mapping[str, ShopAccount],
        default_account: str | None = None,
        source: str = "",
    ) -> None:
        # Checked by parse_accounts: every account a shop or the default names exists.
        self._accounts = dict(accounts)
        self._shops = dict(shops)
        self.default_account = default_account
        self.source = source

    # --- ways to make one ----------------------------------------------------------------

    @classmethod
    def none(cls) -> Accounts:
        """No accounts: every shop is refused (what a server without an accounts file has)."""
        return cls({}, {})

    @classmethod
    def sandbox(
        cls,
        base_url: str,
        shops: Iterable[str] | None = None,
        per_second: float | None = None,
        per_day: int | None = None,
    ) -> Accounts:
        """The sandbox marketplace at `base_url` (its root, e.g. http://127.0.0.1:8700;
        each platform under /<platform>) as every shop's default account, with its
        default credentials and each shop's id as its token. `per_second` / `per_day`,
        when given, replace every method's limit for every shop (the sandbox itself keeps
        its own limits: set both sides alike); `shops` lists shops by name under shops:."""
        url = base_url if PLATFORM_SLOT in base_url else f"{base_url.rstrip('/')}/{PLATFORM_SLOT}"
        given = {"per_second": per_second, "per_day": per_day}
        every = {k: v for k, v in given.items() if v is not None}
        account: dict[str, Any] = {
            "base_url": url,
            "app_key": SANDBOX_APP_KEY,
            "app_secret": SANDBOX_APP_SECRET,
            "limits": {"*": every} if every else {},
        }
        doc = {
            "accounts": {"sandbox": account},
            "shops": {shop: {"account": "sandbox"} for shop in shops or ()},
            "default_account": "sandbox",
        }
        return parse_accounts(doc, "sandbox accounts")

    # --- what a listing job asks -----------------------------------------------------------

    def config_for(self, shop_id: str, platform: str | None = None) -> MarketplaceConfig:
        """Where and as whom the shop's adapter calls. `platform` fills `{platform}` in
        the account's base URL and is needed only when the URL holds one."""
        name, account, shop = self._find(shop_id)
        url = account.base_url
        if PLATFORM_SLOT in url:
            if platform is None:
                message = f"shop {shop_id}: the base URL holds {PLATFORM_SLOT}: say the platform"
                raise InputError([Issue(f"accounts.{name}.base_url", message)], self.source)
            url = url.replace(PLATFORM_SLOT, _known_platform(platform, shop_id))
        token = shop.access_token if shop is not None else None
        return MarketplaceConfig(
            base_url=url,
            app_key=account.app_key,
            app_secret=account.app_secret.get_secret_value(),
            timeout_s=account.timeout_s,
            access_token=token.get_secret_value() if token is not None else shop_id,
        )

    def app_key_of(self, shop_id: str) -> str:
        """The app key the shop calls with: the platforms count calls per app and shop."""
        return self._find(shop_id)[1].app_key

    def account_of(self, shop_id: str) -> str:
        """The name of the shop's account (under accounts:)."""
        return self._find(shop_id)[0]

    def quota(self, shop_id: str, platform: str, method: str) -> Quota:
        """The call limit of one method for the shop. Each of per_second and per_day is
        the first one given of: the shop's entry for the method, the shop's "*", the
        account's entry for the method, the account's "*", the platform's default
        (shapes.DEFAULT_LIMITS). So a "*" also covers a method the platform limits more
        tightly by default: name the method to keep it tight.

        0 is a valid limit (the file may stop a shop's calls of a method); it is handed
        on as it is, and the listing job reports each item it cannot send for it."""
        _, account, shop = self._find(shop_id)
        default = limit_for(DEFAULT_LIMITS, _known_platform(platform, shop_id), method)
        tables = [shop.limits if shop is not None else {}, account.limits]
        found = [t[key] for t in tables for key in (method, "*") if key in t]
        per_second = next((x.per_second for x in found if x.per_second is not None), None)
        per_day = next((x.per_day for x in found if x.per_day is not None), None)
        return Quota(
            method,
            default.per_second if per_second is None else float(per_second),
            default.per_day if per_day is None else per_day,
        )

    def quotas_for(self, shop_id: str, platform: str) -> dict[str, Quota]:
        """The limit of every method the platform's adapter calls, by method (see quota)."""
        s = SHAPES[_known_platform(platform, shop_id)]
        methods = dict.fromkeys([s.add, s.update, s.stock, s.price, s.delist, s.get, *s.pages])
        return {m: self.quota(shop_id, platform, m) for m in methods}

    def __repr__(self) -> str:
        return (
            f"Accounts(accounts={sorted(self._accounts)}, shops={sorted(self._shops)}, "
            f"default_account={self.default_account!r}, source={self.source!r})"
        )

    def _find(self, shop_id: str) -> tuple[str, Account, ShopAccount | None]:
        shop = self._shops.get(shop_id)
        name = shop.account if shop is not None else self.default_account
        if name is None:
            where = self.source or _WHERE
            message = (
                f"shop {shop_id} has no marketplace account: add it under shops: in {where} "
                "or set default_account"
            )
            raise InputError([Issue(f"shops.{shop_id}", message)], self.source)
        return name, self._accounts[name], shop


def _known_platform(platform: str, shop_id: str) -> str:
    if platform not in SHAPES:
        message = f"unknown platform {platform!r}: {', '.join(SHAPES)}"
        raise InputError([Issue("platform", message)], f"shop {shop_id}")
    return platform


# --- reading the file ----------------------------------------------------------------------

_SECRETS = ("app_key", "app_secret", "access_token")
_NUMBERS = ("timeout_s", "per_second", "per_day")  # the only values an error may echo
_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "string_pattern_mismatch": "must be text without spaces",
}


def _issue(error: Any, prefix: tuple[str, ...]) -> Issue:
    """A pydantic error in our words. The input is shown only for the number fields: any
    text in the file may be a secret put in the wrong place."""
    loc, kind = (*prefix, *error["loc"]), error["type"]
    last = next((part for part in reversed(loc) if isinstance(part, str)), "")
    message = _MESSAGES.get(kind, error["msg"])
    if last in _SECRETS and kind == "string_type":
        message = "must be text (quote it in YAML)"
    got = error.get("input")
    numeric = isinstance(got, int | float) and not isinstance(got, bool)
    if last in _NUMBERS and numeric and kind not in ("missing", "extra_forbidden"):
        message += f", got {got!r}"
    return Issue(dotted_path(loc), message)


def _text_issues(where: str, value: str, field: str) -> list[Issue]:
    if not value.strip():
        return [Issue(where, f"empty {field}")]
    if value != value.strip():
        return [Issue(where, f"{field} has spaces at its start or end")]
    return []


def _url_issues(where: str, url: str) -> list[Issue]:
    # Only the scheme is ever echoed: a URL may carry a token in its query or user part.
    probe = url.replace(PLATFORM_SLOT, "tmall")
    if "{" in probe or "}" in probe:
        return [Issue(where, f"only {PLATFORM_SLOT} may stand in braces in a base URL")]
    try:
        parts = urlsplit(probe)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return [Issue(where, "not a URL")]
    if parts.scheme not in ("http", "https"):
        got = f", got {parts.scheme!r}" if parts.scheme.isalnum() else ""
        return [Issue(where, f"must start with http:// or https://{got}")]
    if not parts.hostname or any(c.isspace() for c in probe):
        return [Issue(where, "not a URL: http(s)://host[:port][/path]")]
    if parts.username is not None or parts.password is not None:
        return [Issue(where, "no user or password in the URL: use app_key and app_secret")]
    if parts.query or parts.fragment:
        return [Issue(where, "no query or fragment in a base URL")]
    return []


# The checks below read the raw entry, so a field is judged even when another field of
# its entry failed validation; each skips a value of the wrong type (already reported).


def _limit_issues(where: str, limits: Any) -> list[Issue]:
    if not isinstance(limits, dict):
        return []
    issues = []
    for method, limit in limits.items():
        if isinstance(method, str) and method != "*" and method not in KNOWN_METHODS:
            issues.append(Issue(f"{where}.{method}", "not a method of any platform's adapter"))
        elif isinstance(limit, dict) and all(limit.get(k) is None for k in _NUMBERS[1:]):
            issues.append(Issue(f"{where}.{method}", "give per_second, per_day or both"))
    return issues


def _account_issues(at: str, raw: Mapping[str, Any], known: set[str] | None) -> list[Issue]:
    issues = _limit_issues(f"{at}.limits", raw.get("limits"))
    url, key, secret = raw.get("base_url"), raw.get("app_key"), raw.get("app_secret")
    if isinstance(url, str):
        issues += _url_issues(f"{at}.base_url", url)
    if isinstance(key, str):
        issues += _text_issues(f"{at}.app_key", key, "app key")
    if isinstance(secret, str):
        issues += _text_issues(f"{at}.app_secret", secret, "secret")
    return issues


def _shop_issues(at: str, raw: Mapping[str, Any], known: set[str] | None) -> list[Issue]:
    issues = _reference(f"{at}.account", raw.get("account"), known)
    token = raw.get("access_token")
    if isinstance(token, str):
        issues += _text_issues(f"{at}.access_token", token, "access token")
    return issues + _limit_issues(f"{at}.limits", raw.get("limits"))


def _reference(where: str, name: Any, known: set[str] | None) -> list[Issue]:
    """An account name that is well formed but names no account. None for `known`:
    the accounts section is unusable, and blaming each reference would only repeat it."""
    if known is None or not _is_code(name) or name in known:
        return []
    names = ", ".join(sorted(known))
    return [Issue(where, f"no account {name!r} (known: {names})")]


_CODE: TypeAdapter[str] = TypeAdapter(Code)
Entry = TypeVar("Entry", Account, ShopAccount)
_SECTIONS = ("accounts", "shops", "default_account")
Check = Callable[[str, Mapping[str, Any], "set[str] | None"], list[Issue]]


def _is_code(value: Any) -> bool:
    try:
        _CODE.validate_python(value)
    except ValidationError:
        return False
    return True


def _names(doc: Mapping[str, Any]) -> set[str] | None:
    raw = doc.get("accounts")
    names = {n for n in raw if _is_code(n)} if isinstance(raw, dict) else set()
    return names or None


def _named(
    doc: Mapping[str, Any],
    section: str,
    model: type[Entry],
    check: Check,
    known: set[str] | None,
    issues: list[Issue],
) -> dict[str, Entry]:
    """The valid entries of one `name: {...}` section; the issues of the others."""
    raw = doc.get(section, {})
    if not isinstance(raw, dict):
        issues.append(Issue(section, "must be a mapping of names to entries"))
        return {}
    valid: dict[str, Entry] = {}
    for name, entry in raw.items():
        if not _is_code(name):
            issues.append(Issue(f"{section}.{name}", "a name must be text without spaces"))
            continue
        try:
            valid[name] = model.model_validate(entry)
        except ValidationError as error:
            found = error.errors(include_url=False)
            issues += [_issue(e, (section, name)) for e in found]
        if isinstance(entry, dict):
            issues += check(f"{section}.{name}", entry, known)
    return valid


def parse_accounts(doc: Any, source: str = "marketplace accounts") -> Accounts:
    """The accounts of a document; an InputError under `source` with every problem, each
    at its dotted path (`shops.tm-b1.account: no account 'x' (known: sandbox)`)."""
    if not isinstance(doc, dict):
        got = "an empty file" if doc is None else f"a {type(doc).__name__}"
        shape = "a mapping with accounts:, and optionally shops: and default_account:"
        raise InputError([Issue("", f"expected {shape}, got {got}")], source)
    issues = [Issue(str(key), "unknown field") for key in doc if key not in _SECTIONS]
    if "accounts" not in doc:
        issues.append(Issue("accounts", "required field is missing"))
    elif doc["accounts"] == {}:
        issues.append(Issue("accounts", "no accounts: name at least one app registration"))
    known = _names(doc)
    accounts = _named(doc, "accounts", Account, _account_issues, known, issues)
    shops = _named(doc, "shops", ShopAccount, _shop_issues, known, issues)
    default = doc.get("default_account")
    if default is not None and not _is_code(default):
        issues.append(Issue("default_account", "an account name: text without spaces"))
    issues += _reference("default_account", default, known)
    if issues:
        raise InputError(issues, source)
    return Accounts(accounts, shops, default, source)


def load_accounts(path: str | PathLike[str]) -> Accounts:
    """The accounts file at `path` (.yaml, .yml or .json); InputError naming the file."""
    return parse_accounts(read_document(path), str(path))


def accounts_from(settings: Settings) -> Accounts:
    """The accounts of OMNISTOCK_MARKETPLACES_FILE; none when it is unset."""
    if settings.marketplaces_file is None:
        return Accounts.none()
    return load_accounts(settings.marketplaces_file)
