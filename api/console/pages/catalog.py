"""The catalog: how complete the tenant's products are per platform (and the shops on
it), what blocks them, the products a page at a time (found by SPU or SKU code); a
product's page with its fields, per platform whether it can be listed and exactly what
blocks it, its versions and, for an operator, restoring an earlier one after a
confirmation step.

Everything is read through the functions GET /v1/catalog/completeness,
/v1/catalog/products and /v1/catalog/products/{brand}/{spu}/history use
(engine/services/catalog.py, the catalog store); a restore is the API's (the restore,
then the price guard again). A brand viewer reads its brand only: asking for another
brand's overview is refused as over the API, another brand's product is a 404 page, it
is shown no form and a form it posts by hand is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.console.web import Visit, VisitDep, console_router, quoted, redirect, render
from api.observe import audit_target
from api.routes.catalog import CatalogDep
from engine.catalog.completeness import Blocker
from engine.catalog.model import changes
from engine.catalog.shops import Shop
from engine.catalog.store import CompletenessRow, StoredProduct, VersionInfo
from engine.core.errors import InputError, Issue
from engine.db.errors import NotFound
from engine.services import catalog as service
from engine.services import catalog_changes
from engine.services.catalog import Catalog

router = console_router()

PAGE_ROWS = 50
SHOWN_BLOCKERS = 20  # the commonest; the API lists them all
# As the API's query parameters (a code is at most 64 characters: engine/catalog/model.py);
# a filter left empty in the form is no filter.
CodeQuery = Annotated[str, Query(max_length=64)]
PlatformQuery = Annotated[str, Query(max_length=32)]


def product_path(brand: str, spu_code: str) -> str:
    """The console path of a product's page."""
    return f"/catalog/{quoted(brand)}/{quoted(spu_code)}"


def _shops_by_platform(shops: Sequence[Shop], brand: str | None) -> dict[str, list[str]]:
    """Platform -> the ids of the shops on it (of `brand`, or of every brand)."""
    found: dict[str, list[str]] = {}
    for shop in sorted(shops, key=lambda s: s.id):
        if brand is None or shop.brand == brand:
            found.setdefault(shop.platform, []).append(shop.id)
    return found


# --- the overview --------------------------------------------------------------------


@dataclass
class Overview:
    """What /catalog shows."""

    summary: list[dict[str, Any]]
    blockers: list[Blocker]
    shops: dict[str, list[str]]
    brands: list[str]
    platforms: list[str]
    total: int
    products: list[StoredProduct]
    # (brand, SPU code) -> platform -> its completeness row
    status: dict[tuple[str, str], dict[str, CompletenessRow]] = field(default_factory=dict)
    # The list of what is blocked, one row per product and platform (`blocked=1`).
    blocked: list[CompletenessRow] | None = None


def _page_of(page: int, total: int) -> int:
    """The page shown: one past the end shows the last."""
    return min(page, max(1, math.ceil(total / PAGE_ROWS)))


def _view(
    catalog: Catalog, tenant: str, scope: str | None, platform: str | None, **listed: Any
) -> Overview:
    """The overview's counts, blockers and shops, with the list shown below them."""
    summary, blockers = service.completeness_overview(catalog, tenant, scope, platform)
    shops = catalog.store.shops(tenant)
    return Overview(
        summary=summary,
        blockers=blockers[:SHOWN_BLOCKERS],
        shops=_shops_by_platform(shops, scope),
        brands=sorted({s.brand for s in shops} | ({scope} if scope else set())),
        platforms=[s["platform"] for s in summary],
        **listed,
    )


def _blocked(
    catalog: Catalog, tenant: str, scope: str | None, platform: str | None, page: int
) -> tuple[Overview, int]:
    """The overview with, instead of the products, what is blocked: each blocked
    product on each platform with its issues (GET /v1/catalog/completeness/products
    with ready=false)."""
    rows = service.completeness(catalog, tenant, scope, platform, ok=False)
    page = _page_of(page, len(rows))
    shown = rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    view = _view(catalog, tenant, scope, platform, total=len(rows), products=[], blocked=shown)
    return view, page


def _overview(
    catalog: Catalog, tenant: str, scope: str | None, platform: str | None, code: str, page: int
) -> tuple[Overview, int]:
    """The overview with a page of the products (those holding `code`)."""

    def products_page(number: int) -> tuple[int, list[StoredProduct]]:
        offset = (number - 1) * PAGE_ROWS
        return catalog.store.list_products(tenant, scope, offset, PAGE_ROWS, code or None)

    # The platform is checked (an InputError naming it) before anything is read.
    view = _view(catalog, tenant, scope, platform, total=0, products=[])
    total, products = products_page(page)
    if _page_of(page, total) != page:
        page = _page_of(page, total)
        total, products = products_page(page)
    # The shown products' rows only (one query), whichever brands they are of.
    shown = {p.key for p in products}
    spu_codes = sorted({key.spu_code for key in shown})
    for row in catalog.store.completeness(tenant, scope, platform, spu_codes=spu_codes):
        if (row.brand, row.spu_code) in shown:
            view.status.setdefault((row.brand, row.spu_code), {})[row.platform] = row
    view.total, view.products = total, products
    return view, page


@router.get("/catalog")
async def catalog_page(
    visit: VisitDep,
    catalog: CatalogDep,
    brand: CodeQuery = "",
    platform: PlatformQuery = "",
    q: CodeQuery = "",
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    blocked: bool = False,
) -> Response:
    """Completeness per platform, the commonest blockers, and the products, paged (with
    `blocked`, each blocked product per platform and what blocks it)."""
    scope = brand.strip() or visit.brand
    visit.may("read", scope)  # a brand viewer asking for another brand: refused
    code, shown = q.strip(), platform.strip() or None
    if blocked:
        view, page = await run_in_threadpool(_blocked, catalog, visit.tenant, scope, shown, page)
    else:
        view, page = await run_in_threadpool(
            _overview, catalog, visit.tenant, scope, shown, code, page
        )
    return render(
        visit.request,
        "catalog.html.j2",
        view=view,
        brand=scope,
        platform=shown,
        q=code,
        page=page,
        pages=max(1, math.ceil(view.total / PAGE_ROWS)),
        known_platforms=catalog.registry.platforms(),
        product_path=product_path,
    )


# --- a product ------------------------------------------------------------------------


@dataclass
class ProductView:
    """What a product's page shows."""

    stored: StoredProduct
    current: StoredProduct
    checks: list[CompletenessRow]
    shops: dict[str, list[str]]
    history: list[VersionInfo]


def _readable(visit: Visit, brand: str) -> None:
    """Another brand's product is not found for a brand viewer (as the API's 404)."""
    if visit.brand is not None and brand != visit.brand:
        raise NotFound("product", brand)
    visit.may("read", brand)


def _product_view(
    catalog: Catalog, tenant: str, brand: str, spu_code: str, version: int | None
) -> ProductView:
    current = service.product(catalog, tenant, brand, spu_code)
    stored = current
    if version is not None and version != current.version:
        stored = service.product(catalog, tenant, brand, spu_code, version)
    return ProductView(
        stored=stored,
        current=current,
        checks=service.product_completeness(catalog, tenant, brand, spu_code),
        shops=_shops_by_platform(catalog.store.shops(tenant), brand),
        history=service.history(catalog, tenant, brand, spu_code),
    )


@router.get("/catalog/{brand}/{spu_code}")
async def product_page(
    visit: VisitDep,
    catalog: CatalogDep,
    brand: str,
    spu_code: str,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """A product (or one of its versions): its fields, what blocks it on each platform,
    its versions and, for an operator, a restore button beside each earlier one."""
    _readable(visit, brand)
    view = await run_in_threadpool(_product_view, catalog, visit.tenant, brand, spu_code, version)
    path = product_path(brand, spu_code)
    restore = {}
    if not visit.session.read_only:
        restore = {
            v.version: visit.form(f"{path}/restore", {"version": str(v.version)})
            for v in view.history
            if v.version != view.current.version
        }
    restored = visit.request.query_params.get("restored", "")
    return render(
        visit.request,
        "catalog_product.html.j2",
        view=view,
        product=view.stored.product,
        base=path,
        restore=restore,
        restored=restored if restored.isdigit() else "",
        product_path=product_path,
    )


async def _posted_version(visit: Visit, brand: str, spu_code: str, action: str) -> int:
    """The version a restore form of the product's page carries, once the form is
    accepted (this session's, unchanged, new; a key that may write) and the product is
    one the key reads."""
    signed, _ = await visit.accept(product_path(brand, spu_code) + action)
    _readable(visit, brand)
    raw = signed.get("version", "")
    if not raw.isdigit() or int(raw) < 1:
        raise InputError([Issue("version", f"a version number (1, 2, ...), not {raw!r}")], "form")
    return int(raw)


def _restore_review(
    catalog: Catalog, tenant: str, brand: str, spu_code: str, version: int
) -> tuple[StoredProduct, StoredProduct, list[str]]:
    current = service.product(catalog, tenant, brand, spu_code)
    old = service.product(catalog, tenant, brand, spu_code, version)
    return current, old, changes(current.product, old.product)


@router.post("/catalog/{brand}/{spu_code}/restore")
async def review_restore(
    visit: VisitDep, catalog: CatalogDep, brand: str, spu_code: str
) -> Response:
    """What restoring the version would change, to confirm (nothing is written yet)."""
    version = await _posted_version(visit, brand, spu_code, "/restore")
    path = product_path(brand, spu_code)
    current, old, changed = await run_in_threadpool(
        _restore_review, catalog, visit.tenant, brand, spu_code, version
    )
    form = visit.form(f"{path}/restore/confirm", {"version": str(version)}) if changed else None
    return render(
        visit.request,
        "catalog_restore.html.j2",
        current=current,
        old=old,
        changed=changed,
        form=form,
        base=path,
    )


@router.post("/catalog/{brand}/{spu_code}/restore/confirm")
async def confirm_restore(
    visit: VisitDep, catalog: CatalogDep, brand: str, spu_code: str
) -> Response:
    """Make the version current again, as a new version (once: the form is accepted once)."""
    version = await _posted_version(visit, brand, spu_code, "/restore/confirm")
    stored = await run_in_threadpool(
        catalog_changes.restore_and_guard,
        catalog,
        visit.tenant,
        brand,
        spu_code,
        version,
        visit.session.key_id,
    )
    audit_target(visit.request, product=f"{brand}/{spu_code}", version=str(stored.version))
    return redirect(product_path(brand, spu_code), restored=str(version))


# --- importing a products file -----------------------------------------------------------


@router.get("/catalog/import")
async def import_page(visit: VisitDep) -> Response:
    """The form: a CSV or XLSX file (a PIM's export), and its sheet."""
    visit.may("write")
    form = visit.form("/catalog/import")
    return render(visit.request, "catalog_import.html.j2", form=form, report=None, issues=[])


@router.post("/catalog/import")
async def import_file(visit: VisitDep, catalog: CatalogDep) -> Response:
    """Import the file; a bad file is the form again with every row at fault named."""
    _, posted = await visit.accept("/catalog/import")
    upload = (await visit.request.form()).get("file")
    sheet = posted.get("sheet", "").strip() or None
    issues: list[tuple[str, str]] = []
    imported = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        issues = [("file", "choose a CSV or XLSX file")]
    else:
        raw = await upload.read()
        try:
            imported = await run_in_threadpool(
                catalog_changes.import_upload,
                catalog,
                visit.tenant,
                upload.filename,
                raw,
                visit.session.key_id,
                sheet,
            )
        except InputError as error:
            where = error.source or ""
            issues = [(f"{where}: {i.path}" if where else i.path, i.message) for i in error.issues]
    return render(
        visit.request,
        "catalog_import.html.j2",
        status=422 if issues else 200,
        form=visit.form("/catalog/import"),
        report=imported,
        issues=issues,
        product_path=product_path,
    )
