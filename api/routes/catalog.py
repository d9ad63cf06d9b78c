"""The product catalog: products imported (JSON or a CSV/XLSX file), read with their
versions, restored; shops; completeness per platform and what blocks products; the
payload a shop's platform would receive. A brand viewer reads its brand only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Reader, Writer
from api.errors import JsonRoute
from api.schemas.catalog import (
    BlockerOut,
    CompletenessOut,
    CompletenessPage,
    CompletenessReport,
    ImportOut,
    PayloadOut,
    PlatformSummary,
    PriceCheckRef,
    ProductPage,
    ProductsBody,
    RestoreBody,
    SchemaOut,
    ShopOut,
    ShopsBody,
    ShopsOut,
    StoredProductOut,
    VersionOut,
)
from api.schemas.errors import DATABASE, INVALID, KEYED, NOT_FOUND, WITH_BODY, responses
from engine.access.roles import Principal, authorize
from engine.catalog.store import StoredProduct
from engine.services import catalog as service
from engine.services import catalog_changes as changes
from engine.services import prices
from engine.services.catalog import Catalog, CatalogHandle
from engine.services.catalog_changes import Imported

router = APIRouter(route_class=JsonRoute, tags=["catalog"], prefix="/catalog")
DB = (*KEYED, DATABASE)
# A file upload is read whole before it is parsed (openpyxl needs a seekable file).
Code = Annotated[str, Query(min_length=1, max_length=64)]


def get_catalog(request: Request) -> Catalog:
    handle: CatalogHandle = request.app.state.catalog
    return handle.open()


CatalogDep = Annotated[Catalog, Depends(get_catalog)]


def _brand_scope(reader: Principal, brand: str | None) -> str | None:
    """The brand a read is cut to: the one asked for (a brand viewer may ask for its
    own only: 403 otherwise), else a brand viewer's own, else none."""
    if brand is not None:
        authorize(reader, "read", reader.tenant, brand)
    return brand if brand is not None else reader.brand


def _stored(s: StoredProduct) -> StoredProductOut:
    return StoredProductOut(
        version=s.version,
        author=s.author,
        at=s.created_at.isoformat(),
        source=s.source,
        product=s.product.body(),
    )


def _imported(imported: Imported) -> ImportOut:
    """The import's outcome and the price check it set off."""
    report, check = imported.report, imported.price_check
    return ImportOut(
        source=report.source,
        products=report.products,
        skus=report.skus,
        **imported.keys,
        price_check=None if check is None else PriceCheckRef(**check),
    )


@router.post(
    "/products",
    operation_id="import-products",
    response_model=ImportOut,
    responses=responses(DB, WITH_BODY),
)
def import_products(body: ProductsBody, writer: Writer, catalog: CatalogDep) -> ImportOut:
    """Import products as JSON: all or none; an unchanged product makes no new version."""
    report = service.import_documents(catalog, writer.tenant, body.products, writer.key_id)
    return _imported(Imported(report, prices.after_import(catalog, writer.tenant, report)))


# The CSV body the OpenAPI page shows (it imports as it is).
CSV_EXAMPLE = (
    "品牌,款号,商品标题,类目,商家编码,规格,吊牌价\n"
    "b1,B1-P00002,Stridewell Running 跑步鞋 2026新款,鞋靴 > 跑步鞋,B1-0002,尺码=42,879.00\n"
)


@router.post(
    "/files",
    operation_id="import-catalog-file",
    response_model=ImportOut,
    responses=responses(DB, WITH_BODY),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    },
)
async def import_file(
    request: Request,
    writer: Writer,
    catalog: CatalogDep,
    name: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^/\\]+$")] = "upload",
    sheet: Annotated[str | None, Query(max_length=200)] = None,
) -> ImportOut:
    """Import a CSV or XLSX file sent as the body (detected by its content; headers in
    Chinese or English): all of it or nothing, every bad row named."""
    raw = await request.body()
    imported = await run_in_threadpool(
        changes.import_upload, catalog, writer.tenant, name, raw, writer.key_id, sheet
    )
    return _imported(imported)


@router.get(
    "/products",
    operation_id="list-products",
    response_model=ProductPage,
    responses=responses(DB, INVALID),
)
def list_products(
    reader: Reader,
    catalog: CatalogDep,
    brand: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ProductPage:
    """The current products, by brand and SPU code, a page at a time."""
    scope = _brand_scope(reader, brand)
    total, items = catalog.store.list_products(reader.tenant, scope, offset, limit)
    return ProductPage(total=total, offset=offset, items=[_stored(s) for s in items])


@router.get(
    "/products/{brand}/{spu_code}",
    operation_id="get-product",
    response_model=StoredProductOut,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def get_product(
    brand: str,
    spu_code: str,
    reader: Reader,
    catalog: CatalogDep,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> StoredProductOut:
    """A product's current version, or the version asked for."""
    _brand_scope(reader, brand)
    return _stored(service.product(catalog, reader.tenant, brand, spu_code, version))


@router.get(
    "/products/{brand}/{spu_code}/history",
    operation_id="get-product-history",
    response_model=list[VersionOut],
    responses=responses(DB, NOT_FOUND, INVALID),
)
def get_history(brand: str, spu_code: str, reader: Reader, catalog: CatalogDep) -> list[VersionOut]:
    """Every version of a product, newest first: who, when, from what, what changed."""
    _brand_scope(reader, brand)
    return [
        VersionOut(
            version=v.version,
            author=v.author,
            at=v.created_at.isoformat(),
            source=v.source,
            changes=v.changes,
        )
        for v in service.history(catalog, reader.tenant, brand, spu_code)
    ]


@router.post(
    "/products/{brand}/{spu_code}/restore",
    operation_id="restore-product",
    response_model=StoredProductOut,
    responses=responses(DB, WITH_BODY, NOT_FOUND),
)
def restore_product(
    brand: str, spu_code: str, body: RestoreBody, writer: Writer, catalog: CatalogDep
) -> StoredProductOut:
    """A new version with the content of an older one."""
    return _stored(
        changes.restore_and_guard(
            catalog, writer.tenant, brand, spu_code, body.version, writer.key_id
        )
    )


# A SKU code may hold a slash (TS-01/BLK/M): the whole rest of the path is the code.
@router.get(
    "/skus/{sku_code:path}",
    operation_id="get-sku-product",
    response_model=list[StoredProductOut],
    responses=responses(DB, NOT_FOUND, INVALID),
)
def get_sku(sku_code: str, reader: Reader, catalog: CatalogDep) -> list[StoredProductOut]:
    """The product(s) holding a SKU code now (one per brand that has the code)."""
    held = service.products_of_sku(catalog, reader.tenant, sku_code, reader.brand)
    return [_stored(s) for s in held]


@router.get(
    "/completeness",
    operation_id="get-completeness",
    response_model=CompletenessReport,
    responses=responses(DB, INVALID),
)
def get_completeness(
    reader: Reader,
    catalog: CatalogDep,
    brand: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    platform: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> CompletenessReport:
    """Per platform: products checked, ready, mean score; and what blocks products,
    the most common first."""
    summary, found = service.completeness_overview(
        catalog, reader.tenant, _brand_scope(reader, brand), platform
    )
    return CompletenessReport(
        platforms=[PlatformSummary(**s) for s in summary],
        blockers=[
            BlockerOut(
                platform=b.platform,
                field=b.field,
                rule=b.rule,
                products=b.count,
                examples=list(b.examples),
            )
            for b in found
        ],
    )


@router.get(
    "/completeness/products",
    operation_id="list-completeness",
    response_model=CompletenessPage,
    responses=responses(DB, INVALID),
)
def list_completeness(
    reader: Reader,
    catalog: CatalogDep,
    brand: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    platform: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    ready: Annotated[bool | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CompletenessPage:
    """Each product on each platform: its score and every issue (`ready=false`: only
    the products something blocks)."""
    rows = service.completeness(catalog, reader.tenant, _brand_scope(reader, brand), platform)
    if ready is not None:
        rows = [r for r in rows if r.ok == ready]
    page = rows[offset : offset + limit]
    return CompletenessPage(
        total=len(rows),
        offset=offset,
        items=[
            CompletenessOut(
                brand=r.brand,
                spu_code=r.spu_code,
                platform=r.platform,
                category_id=r.category_id,
                product_version=r.product_version,
                schema_version=r.schema_version,
                score=r.score,
                ok=r.ok,
                issues=r.issues,
            )
            for r in page
        ],
    )


# The SKU code is the rest of the path, as for /skus/.
@router.get(
    "/payload/{sku_code:path}",
    operation_id="get-payload",
    response_model=PayloadOut,
    responses=responses(DB, NOT_FOUND, INVALID),
)
def get_payload(
    sku_code: str,
    reader: Reader,
    catalog: CatalogDep,
    shop: Annotated[str, Query(min_length=1, max_length=64)],
) -> PayloadOut:
    """What the shop's platform would receive for the product holding the SKU (stock 0
    until a plan is published), and every field it would refuse."""
    result = service.shop_payload(catalog, reader.tenant, sku_code, shop, reader.brand)
    return PayloadOut(
        platform=result.platform,
        category_id=result.category_id,
        schema_version=result.schema_version,
        score=result.score,
        ok=result.ok,
        payload=result.payload,
        issues=[service.issue_doc(i) for i in result.issues],
    )


@router.put(
    "/shops",
    operation_id="put-shops",
    response_model=ShopsOut,
    responses=responses(DB, WITH_BODY),
)
def put_shops(body: ShopsBody, writer: Writer, catalog: CatalogDep) -> ShopsOut:
    """Replace the shops and their listing settings; every product is checked again."""
    shops = service.put_shops(catalog, writer.tenant, body, writer.key_id, "body")
    return ShopsOut(shops=[ShopOut(**s.model_dump()) for s in shops])


@router.get(
    "/shops",
    operation_id="get-shops",
    response_model=ShopsOut,
    responses=responses(DB),
)
def get_shops(reader: Reader, catalog: CatalogDep) -> ShopsOut:
    """The shops (a brand viewer: its brand's)."""
    shops = catalog.store.shops(reader.tenant)
    mine = [s for s in shops if reader.brand is None or s.brand == reader.brand]
    return ShopsOut(shops=[ShopOut(**s.model_dump()) for s in mine])


@router.get(
    "/schemas",
    operation_id="list-platform-schemas",
    response_model=list[SchemaOut],
    responses=responses(DB),
)
def list_schemas(reader: Reader, catalog: CatalogDep) -> list[SchemaOut]:
    """The platform categories products are checked against, with their versions."""
    return [
        SchemaOut(
            platform=s.platform,
            category_id=s.category_id,
            name=s.name,
            version=s.version,
            api=s.api,
            matches=[list(m) for m in s.matches],
        )
        for s in catalog.registry.schemas()
    ]
