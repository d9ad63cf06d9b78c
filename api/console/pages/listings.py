"""Listing jobs: the tenant's jobs (a brand viewer: its brand's) with their items
counted, one job followed while it runs with its items a page at a time, cancel and
resume after a confirmation, and a listing started from a form - a dry run first
showing what would be listed and what our checks block, then confirmed.

Every step calls what POST /v1/listings, /cancel and /resume call
(engine/services/listings.py). A brand viewer sees its brand's jobs only (another
brand's job, or a stock push of every brand, is not found) and is shown no form; a
form it posts by hand is refused.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.console import i18n
from api.console.web import HEADERS, Visit, VisitDep, console_router, redirect, render
from api.deps import get_settings
from api.observe import audit_target
from api.routes.catalog import CatalogDep
from engine.core.errors import InputError, Issue
from engine.core.settings import Settings
from engine.db.errors import NotFound
from engine.jobs.base import JobNotFound
from engine.listing.jobstore import OPEN, TERMINAL, ItemState, JobRecord, ListingStore
from engine.services import listings as service
from engine.services.catalog import Catalog

router = console_router()

SettingsDep = Annotated[Settings, Depends(get_settings)]
PAGE_ROWS = 50
# A preview names this many items of each side (to list, blocked); the rest are counted.
SHOWN_PREVIEW = 100
# As the API's body allows (api/schemas/listings.py): a code of 1 to 64 characters.
MAX_CODE = 64
_SEPARATORS = re.compile(r"[\s,，、;；]+")
# The form's fields, signed into the confirmation so the job is the one previewed.
FIELDS = ("brand", "shops", "skus")
Page = Annotated[int, Query(ge=1, le=10**6)]
# The queue's job that runs a listing job just started or resumed: until it has run,
# the listing's own status still says where the last run left it (a resumed job:
# cancelled or interrupted), so its page follows the queue's job too.
Run = Annotated[str | None, Query(max_length=64)]
MAY_RUN = ("queued", "running")


def _store(catalog: Catalog) -> ListingStore:
    # The jobs live on the catalog's database (as for the API's routes); its engine is
    # the catalog's, never disposed here.
    return ListingStore(catalog.store.engine)


def _readable(visit: Visit, listings: ListingStore, listing_id: str) -> JobRecord:
    """The job as the key may see it: another brand's job, or a stock push (every
    brand's), is not found for a brand viewer."""
    job = listings.job(visit.tenant, listing_id)
    if visit.brand is not None and job.brand != visit.brand:
        raise NotFound("listing job", listing_id)
    return job


def _codes(posted: dict[str, str], name: str) -> list[str] | None:
    """A list field of the form (commas, spaces or new lines between codes); None when
    blank, which means all of them."""
    codes = [c for c in _SEPARATORS.split(posted.get(name, "").strip()) if c]
    issues = [
        Issue(f"{name}[{n}]", f"{code[:20]!r}… is longer than {MAX_CODE} characters")
        for n, code in enumerate(codes)
        if len(code) > MAX_CODE
    ]
    if issues:
        raise InputError(issues, "form")
    return list(dict.fromkeys(codes)) or None


def _asked(posted: dict[str, str]) -> dict[str, str]:
    """The form's fields as they are signed into the confirmation."""
    brand = posted.get("brand", "").strip()
    if not brand:
        raise InputError([Issue("brand", "a brand is needed")], "form")
    if len(brand) > MAX_CODE:
        raise InputError([Issue("brand", f"at most {MAX_CODE} characters")], "form")
    shops, skus = _codes(posted, "shops"), _codes(posted, "skus")
    return {"brand": brand, "shops": ",".join(shops or []), "skus": ",".join(skus or [])}


def _preview(catalog: Catalog, tenant: str, asked: dict[str, str]) -> service.ListingPreview:
    return service.preview_publish(
        catalog,
        tenant,
        asked["brand"],
        shops=_codes(asked, "shops"),
        skus=_codes(asked, "skus"),
    )


def _brand_shops(catalog: Catalog, tenant: str) -> dict[str, list[str]]:
    """Each brand's shops, for the form's choices."""
    found: dict[str, list[str]] = {}
    for shop in catalog.store.shops(tenant):
        found.setdefault(shop.brand, []).append(shop.id)
    return dict(sorted(found.items()))


def _run_on_the_way(visit: Visit, run: str | None) -> bool:
    """Whether the queue's listing job `run` (of this tenant) is still to run or running;
    an unknown id is nothing to follow."""
    if not run:
        return False
    try:
        info = visit.jobs.get(visit.tenant, run)
    except JobNotFound:
        return False
    return info.kind == service.LISTING_JOB.name and info.status in MAY_RUN


def _pages(total: int) -> int:
    return max(1, math.ceil(total / PAGE_ROWS))


@router.get("/listings")
async def listings_page(visit: VisitDep, catalog: CatalogDep, page: Page = 1) -> Response:
    """The jobs, newest first, 50 a page, and (for an operator) the form."""
    visit.may("read", visit.brand)
    listings = _store(catalog)
    offset = (page - 1) * PAGE_ROWS
    total, rows = await run_in_threadpool(
        service.job_rows, listings, visit.tenant, visit.brand, offset, PAGE_ROWS
    )
    writes = not visit.session.read_only
    brands = await run_in_threadpool(_brand_shops, catalog, visit.tenant) if writes else {}
    return render(
        visit.request,
        "listings.html.j2",
        rows=rows,
        page=page,
        pages=_pages(total),
        total=total,
        brands=brands,
        form=visit.form("/listings/preview") if writes else None,
    )


@router.post("/listings/preview")
async def preview_listing(visit: VisitDep, catalog: CatalogDep) -> Response:
    """The dry run: what the job would list and what our checks block (nothing is
    stored, no platform called), with the form that starts it."""
    _, posted = await visit.accept("/listings/preview")
    asked = _asked(posted)
    preview = await run_in_threadpool(_preview, catalog, visit.tenant, asked)
    return render(
        visit.request,
        "listing_preview.html.j2",
        **_preview_view(preview),
        form=visit.form("/listings/confirm", asked) if preview.items else None,
    )


def _preview_view(preview: service.ListingPreview) -> dict[str, Any]:
    """A preview as its page shows it: counted per shop, the first items of each side."""
    ready = [i for i in preview.items if not i.refused_reason]
    blocked = [i for i in preview.items if i.refused_reason]
    per_shop: dict[str, Counter[str]] = {}
    platforms: dict[str, str] = {}
    for item in preview.items:
        side = "blocked" if item.refused_reason else "ready"
        per_shop.setdefault(item.shop, Counter())[side] += 1
        platforms[item.shop] = item.platform
    return {
        "brand": preview.brand,
        "ready": ready[:SHOWN_PREVIEW],
        "blocked": blocked[:SHOWN_PREVIEW],
        "ready_count": len(ready),
        "blocked_count": len(blocked),
        "products": len({i.outer_id for i in preview.items}),
        "shops": [
            (shop, platforms[shop], counts["ready"], counts["blocked"])
            for shop, counts in sorted(per_shop.items())
        ],
    }


@router.post("/listings/confirm")
async def start_listing(visit: VisitDep, catalog: CatalogDep, settings: SettingsDep) -> Response:
    """The job, made as previewed (worked out again: the catalog may have changed since)
    and handed to the job queue; its page follows it."""
    signed, _ = await visit.accept("/listings/confirm")
    asked = {name: signed.get(name, "") for name in FIELDS}
    listings = _store(catalog)

    def start() -> tuple[str, str]:
        preview = _preview(catalog, visit.tenant, asked)
        record = service.create_job(listings, visit.tenant, preview, visit.session.key_id, {})
        # A queue that refuses the run leaves the job queued: its page offers a resume.
        info = service.submit_run(visit.jobs, settings, catalog.job_url, visit.tenant, record.id)
        return record.id, info.id

    listing_id, run = await run_in_threadpool(start)
    audit_target(visit.request, listing_id=listing_id)
    return redirect(f"/listings/{listing_id}", run=run)


def _state(value: str | None) -> ItemState | None:
    if not value:
        return None
    try:
        return ItemState(value)
    except ValueError:
        states = ", ".join(s.value for s in ItemState)
        raise InputError([Issue("state", f"one of {states}")], "query") from None


def _error_words(lang: i18n.Lang, code: str) -> str:
    """An item's error code in words (the platform's kinds, engine/listing/marketplace.py
    ErrorCode, and our own refusal); a code the console does not know, as it is."""
    key = f"listings.error.{code}"
    return i18n.text(lang, key) if key in i18n.TEXT[lang] else code


@router.get("/listings/{listing_id}")
async def listing_page(
    visit: VisitDep,
    catalog: CatalogDep,
    listing_id: str,
    state: Annotated[str | None, Query(max_length=32)] = None,
    shop: Annotated[str | None, Query(max_length=MAX_CODE)] = None,
    page: Page = 1,
    run: Run = None,
) -> Response:
    """A job: its progress (followed while it runs), its items 50 a page, filtered by
    state and shop, and (for an operator) cancel and resume."""
    chosen = _state(state)
    listings = _store(catalog)

    def read() -> tuple[JobRecord, dict[str, Any], int, list[Any]]:
        job = _readable(visit, listings, listing_id)
        # One grouped read of the items serves the progress and the page's total.
        counts = listings.counts(visit.tenant, listing_id)
        view = service.job_view(listings, visit.tenant, listing_id, counts)
        total, items = service.item_page(
            listings,
            visit.tenant,
            listing_id,
            state=chosen,
            shop=shop or None,
            offset=(page - 1) * PAGE_ROWS,
            limit=PAGE_ROWS,
            counts=counts,
        )
        return job, view, total, items

    job, view, total, items = await run_in_threadpool(read)
    on_the_way = await run_in_threadpool(_run_on_the_way, visit, run)
    following = on_the_way or job.status.value in MAY_RUN
    states: Counter[str] = Counter()
    for per_shop in view["progress"]["shops"].values():
        states.update(per_shop["states"])
    writes = not visit.session.read_only
    cancel = writes and job.status.value in (*MAY_RUN, "interrupted")
    # A job still said to run may be resumed by force (its confirmation says so), but
    # not while the run this console handed over is on its way.
    resume = writes and job.status.value != "finished" and not on_the_way
    return render(
        visit.request,
        "listing.html.j2",
        job=job,
        view=view,
        ended=not following,
        run=run,
        open_items=sum(n for s, n in states.items() if s in OPEN),
        states=[(s.value, states.get(s.value, 0)) for s in ItemState],
        item_rows=items,  # not `items`: the layout sets its own (the nav)
        filters={"state": chosen.value if chosen else "", "shop": shop or ""},
        page=page,
        pages=_pages(total),
        total=total,
        said=lambda code: _error_words(visit.lang, code),
        cancel=visit.form(f"/listings/{listing_id}/cancel") if cancel else None,
        resume=visit.form(f"/listings/{listing_id}/resume") if resume else None,
    )


@router.get("/listings/{listing_id}/progress")
async def listing_progress(
    visit: VisitDep, catalog: CatalogDep, listing_id: str, run: Run = None
) -> Response:
    """The job's items done of all, for the page's script to poll."""
    listings = _store(catalog)

    def read() -> tuple[dict[str, Any], bool]:
        _readable(visit, listings, listing_id)
        view = service.job_view(listings, visit.tenant, listing_id)
        return view, view["status"] in MAY_RUN or _run_on_the_way(visit, run)

    view, following = await run_in_threadpool(read)
    progress = view["progress"]
    body = {
        "status": view["status"],
        "label": f"{view['status']} · {progress['done']} / {progress['total']}",
        "done": progress["done"],
        "total": progress["total"],
        "finished": not following,
        "next": None,
    }
    return JSONResponse(body, headers=HEADERS)


# --- cancel and resume: each after a confirmation ------------------------------------------


def _open_count(listings: ListingStore, tenant: str, listing_id: str) -> int:
    counts = listings.counts(tenant, listing_id)
    return sum(n for c in counts.values() for s, n in c.items() if s not in TERMINAL)


async def _confirm_page(
    visit: Visit, catalog: CatalogDep, listing_id: str, action: str, force: bool
) -> Response:
    listings = _store(catalog)

    def read() -> tuple[JobRecord, int]:
        job = _readable(visit, listings, listing_id)
        if action == "cancel":
            service.cancellable(listings, visit.tenant, listing_id)
        return job, _open_count(listings, visit.tenant, listing_id)

    job, open_items = await run_in_threadpool(read)
    signed = {"force": "1"} if force else {}
    return render(
        visit.request,
        "listing_confirm.html.j2",
        job=job,
        action=action,
        open_items=open_items,
        force=force,
        form=visit.form(f"/listings/{listing_id}/{action}/confirm", signed),
    )


@router.post("/listings/{listing_id}/cancel")
async def review_cancel(visit: VisitDep, catalog: CatalogDep, listing_id: str) -> Response:
    """What a cancel would do, to confirm (nothing is stopped yet)."""
    await visit.accept(f"/listings/{listing_id}/cancel")
    return await _confirm_page(visit, catalog, listing_id, "cancel", force=False)


@router.post("/listings/{listing_id}/cancel/confirm")
async def confirm_cancel(visit: VisitDep, catalog: CatalogDep, listing_id: str) -> Response:
    """Stop the job as POST /v1/listings/{id}/cancel does: a running one within a call,
    any other at once; its open items stay open for a resume."""
    await visit.accept(f"/listings/{listing_id}/cancel/confirm")
    listings = _store(catalog)

    def cancel() -> None:
        _readable(visit, listings, listing_id)
        service.cancellable(listings, visit.tenant, listing_id)
        listings.request_cancel(visit.tenant, listing_id)

    await run_in_threadpool(cancel)
    audit_target(visit.request, listing_id=listing_id)
    return redirect(f"/listings/{listing_id}")


@router.post("/listings/{listing_id}/resume")
async def review_resume(visit: VisitDep, catalog: CatalogDep, listing_id: str) -> Response:
    """What a resume would send, to confirm; for a job still said to run, the
    confirmation forces it (its run is known to be dead)."""
    await visit.accept(f"/listings/{listing_id}/resume")
    listings = _store(catalog)
    job = await run_in_threadpool(_readable, visit, listings, listing_id)
    force = job.status.value in MAY_RUN
    return await _confirm_page(visit, catalog, listing_id, "resume", force=force)


@router.post("/listings/{listing_id}/resume/confirm")
async def confirm_resume(
    visit: VisitDep, catalog: CatalogDep, settings: SettingsDep, listing_id: str
) -> Response:
    """Run the job again from where it stopped, as POST /v1/listings/{id}/resume does."""
    signed, _ = await visit.accept(f"/listings/{listing_id}/resume/confirm")
    listings = _store(catalog)

    def resume() -> str:
        job = _readable(visit, listings, listing_id)
        try:
            service.resumable(listings, visit.tenant, listing_id, signed.get("force") == "1")
        except service.MayStillRun:
            # Started again since the confirmation was shown: a second run is not sent.
            message = i18n.text(visit.lang, "listings.may_run", status=job.status.value)
            raise HTTPException(409, message) from None
        info = service.resume(
            listings, visit.jobs, settings, catalog.job_url, visit.tenant, listing_id
        )
        return info.id

    run = await run_in_threadpool(resume)
    audit_target(visit.request, listing_id=listing_id)
    return redirect(f"/listings/{listing_id}", run=run)
