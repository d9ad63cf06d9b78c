"""`omnistock catalog import|show|restore|check|payload|shops`: the product master in the
relational database (OMNISTOCK_DATABASE_URL; default omnistock.db beside the key file),
migrated on first use. Every command acts for one tenant (`--tenant`, default "local";
the API's keys act for theirs).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from engine.catalog.columns import load_column_map
from engine.catalog.completeness import PlatformCheck
from engine.catalog.store import StoredProduct
from engine.cli.common import add_plain_row, err, fail, read_settings
from engine.core.errors import KNOWN_ERRORS, InputError, Issue
from engine.db.errors import NotFound
from engine.services import catalog as service
from engine.services import prices
from engine.services.catalog import Catalog

catalog = typer.Typer(
    help="The product master: import, show, restore, check, payloads, shops.",
    no_args_is_help=True,
)
out = Console()

Tenant = Annotated[str, typer.Option(help="the tenant whose catalog this is")]
AsJson = Annotated[bool, typer.Option("--json", help="JSON on stdout")]
DEFAULT_TENANT = "local"


def author() -> str:
    """Who a command's change is recorded as: the user at the terminal."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def open_catalog() -> Catalog:
    """The catalog of this machine's database, migrated if it is behind (a command is
    its own deploy step on the embedded default)."""
    return service.open_catalog(read_settings().database(), migrate_now=True)


def print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def read_document(path: Path) -> Any:
    """A YAML or JSON file (YAML reads both); unreadable -> InputError naming it."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError([Issue("", f"cannot read: {error}")], str(path)) from None


@catalog.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="a CSV or XLSX file, one row per SKU")],
    map: Annotated[
        Path | None, typer.Option("--map", help="YAML: file header -> master field")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="the XLSX sheet (default: the first)")] = None,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """Import products: all of the file or none of it; every bad row named at once."""
    try:
        columns = load_column_map(map) if map is not None else None
        store = open_catalog()
        report = service.import_file(store, tenant, file, author(), columns, sheet)
        # Prices, costs or floors may have moved: the guard runs again (with a policy).
        check = prices.after_import(store, tenant, report)
    except KNOWN_ERRORS as error:
        fail(error)
    outcome = service.keys_of(report.result)
    price_check = None if check is None else {"id": check["id"], "summary": check["summary"]}
    if as_json:
        print_json(
            {
                "source": report.source,
                "products": report.products,
                "skus": report.skus,
                **outcome,
                "price_check": price_check,
            }
        )
        return
    out.print(
        f"{file}: {report.products} products, {report.skus} SKUs - "
        f"{len(outcome['created'])} created, {len(outcome['updated'])} updated, "
        f"{len(outcome['unchanged'])} unchanged",
        highlight=False,
    )
    if price_check is not None:
        below = price_check["summary"].get("breach", 0)
        out.print(
            f"price check {price_check['id']}: {below} SKU-shops below their floor "
            "(`omnistock prices check` lists them)",
            highlight=False,
        )


@catalog.command()
def show(
    code: Annotated[str, typer.Argument(help="a SKU code, or BRAND/SPU")],
    version: Annotated[int | None, typer.Option(help="an older version")] = None,
    history: Annotated[bool, typer.Option("--history", help="list every version")] = False,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """Show the product holding a SKU (or BRAND/SPU): its record, or its history."""
    try:
        store = open_catalog()
        held: list[StoredProduct] | None = None
        if "/" in code:
            brand, spu = code.split("/", 1)
            try:
                held = [service.product(store, tenant, brand, spu, version)]
            except NotFound:
                # No such product, but a SKU code may hold a slash too (TS-01/BLK/M).
                if not store.store.find_sku(tenant, code):
                    raise
        if held is None:
            held = service.products_of_sku(store, tenant, code)
            if version is not None:
                key = held[0].key
                held = [service.product(store, tenant, key.brand, key.spu_code, version)]
        versions = (
            [service.history(store, tenant, s.key.brand, s.key.spu_code) for s in held]
            if history
            else []
        )
    except KNOWN_ERRORS as error:
        fail(error)
    if history:
        histories: list[dict[str, Any]] = [
            {
                "product": str(s.key),
                "versions": [
                    {
                        "version": v.version,
                        "author": v.author,
                        "at": v.created_at.isoformat(),
                        "source": v.source,
                        "changes": v.changes,
                    }
                    for v in vs
                ],
            }
            for s, vs in zip(held, versions, strict=True)
        ]
        if as_json:
            print_json(histories)
            return
        for doc in histories:
            table = Table("version", "at", "author", "source", "changes", title=doc["product"])
            for v in doc["versions"]:
                add_plain_row(
                    table, str(v["version"]), v["at"][:19], v["author"], v["source"],
                    ", ".join(v["changes"])[:80],
                )  # fmt: skip
            out.print(table)
        return
    docs: list[dict[str, Any]] = [
        {
            "version": s.version,
            "author": s.author,
            "at": s.created_at.isoformat(),
            "source": s.source,
            "product": s.product.body(),
        }
        for s in held
    ]
    if as_json:
        print_json(docs if len(docs) > 1 else docs[0])
        return
    for s in held:
        p = s.product
        out.print(
            f"{s.key} v{s.version} ({s.source}, {s.author}, {s.created_at:%Y-%m-%d %H:%M})\n"
            f"{p.title}\n{' > '.join(p.category)}; {len(p.images)} images; "
            f"attributes: {', '.join(f'{k}={v}' for k, v in p.attributes.items()) or '-'}",
            highlight=False,
        )
        table = Table("SKU", "spec", "list price", "cost", "floor", "weight g", "barcode")
        for sku in p.skus:
            add_plain_row(
                table, sku.sku_code, ", ".join(f"{k}={v}" for k, v in sku.spec.items()),
                str(sku.list_price), str(sku.cost or "-"), str(sku.floor_price or "-"),
                str(sku.weight_g or "-"), sku.barcode,
            )  # fmt: skip
        out.print(table)


@catalog.command()
def restore(
    product: Annotated[str, typer.Argument(help="BRAND/SPU")],
    version: Annotated[int, typer.Argument(help="the version whose content comes back")],
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Make a new version of a product with the content of an older one."""
    try:
        if "/" not in product:
            raise InputError([Issue("PRODUCT", "give it as BRAND/SPU, such as b1/B1-P00002")])
        brand, spu = product.split("/", 1)
        store = open_catalog()
        stored = service.restore(store, tenant, brand, spu, version, author())
        prices.after_change(store, tenant, f"restore of {brand}/{spu} v{version}")
    except KNOWN_ERRORS as error:
        fail(error)
    out.print(f"{stored.key} is at version {stored.version} ({stored.source})", highlight=False)


@catalog.command()
def check(
    platform: Annotated[str | None, typer.Option(help="one platform only")] = None,
    brand: Annotated[str | None, typer.Option(help="one brand only")] = None,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """Completeness per platform and what blocks products there, most common first."""
    try:
        store = open_catalog()
        if platform is not None and platform not in store.registry.platforms():
            known = ", ".join(store.registry.platforms())
            raise InputError(
                [Issue("--platform", f"unknown platform {platform!r} (known: {known})")]
            )
        rows = service.completeness(store, tenant, brand, platform)
    except KNOWN_ERRORS as error:
        fail(error)
    summary = service.completeness_summary(rows)
    blockers = service.blocker_view(rows)
    if as_json:
        print_json(
            {
                "platforms": summary,
                "blockers": [
                    {
                        "platform": b.platform,
                        "field": b.field,
                        "rule": b.rule,
                        "products": b.count,
                        "examples": list(b.examples),
                    }
                    for b in blockers
                ],
                "products": [
                    {
                        "brand": r.brand,
                        "spu_code": r.spu_code,
                        "platform": r.platform,
                        "category_id": r.category_id,
                        "score": round(r.score, 4),
                        "ok": r.ok,
                        "issues": r.issues,
                    }
                    for r in rows
                    if not r.ok
                ],
            }
        )
        return
    if not rows:
        err.print("no products checked: import a catalog first (`omnistock catalog import FILE`)")
        return
    table = Table("platform", "products", "ready", "mean score", title="completeness")
    for s in summary:
        add_plain_row(
            table, s["platform"], str(s["products"]), str(s["ready"]), f"{s['mean_score']:.3f}"
        )
    out.print(table)
    table = Table("platform", "field", "rule", "products", "e.g.", title="what blocks products")
    for b in blockers[:30]:
        add_plain_row(table, b.platform, b.field, b.rule, str(b.count), ", ".join(b.examples[:3]))
    out.print(table)
    if len(blockers) > 30:
        err.print(f"... and {len(blockers) - 30} more (--json lists all)")


def _check_doc(result: PlatformCheck) -> dict[str, Any]:
    return {
        "platform": result.platform,
        "category_id": result.category_id,
        "schema_version": result.schema_version,
        "score": round(result.score, 4),
        "ok": result.ok,
        "payload": result.payload,
        "issues": [service.issue_doc(i) for i in result.issues],
    }


@catalog.command()
def payload(
    sku: Annotated[str, typer.Argument(help="a SKU code of the product")],
    shop: Annotated[str, typer.Option(help="the shop (its platform and settings)")],
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """The payload the shop's platform would receive, and what it would refuse (JSON)."""
    try:
        result = service.shop_payload(open_catalog(), tenant, sku, shop)
    except KNOWN_ERRORS as error:
        fail(error)
    print_json(_check_doc(result))


@catalog.command()
def shops(
    file: Annotated[Path, typer.Argument(help="YAML or JSON: shops with platform and settings")],
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Set the tenant's shops (and their listing settings); every product is checked again."""
    try:
        done = service.put_shops(open_catalog(), tenant, read_document(file), author(), str(file))
    except KNOWN_ERRORS as error:
        fail(error)
    out.print(f"{len(done)} shops set; completeness checked again", highlight=False)
