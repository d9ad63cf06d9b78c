"""`omnistock listing publish|status|items|cancel|resume|readback|bench`: listing jobs on
this machine's database, run in the foreground with a progress bar per shop.

The shops' marketplace accounts come from OMNISTOCK_MARKETPLACES_FILE, or `--sandbox URL`
(the sandbox marketplace of `omnistock sandbox serve` for every shop). A run interrupted
(Ctrl-C, a killed process) keeps every item's state; `listing resume ID` goes on from
there, and nothing is listed twice.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from engine.cli.catalog import AsJson, Tenant, author, open_catalog, print_json
from engine.cli.common import err, fail, read_settings
from engine.core.errors import KNOWN_ERRORS
from engine.core.io import dump_json, load_plan, load_snapshot
from engine.listing.accounts import Accounts, accounts_from
from engine.listing.batch import RunOptions
from engine.listing.jobstore import TERMINAL, ItemState, JobRecord, ListingStore
from engine.listing.listed import drift, with_listed
from engine.services import listings as service
from engine.services.listings import RunPlace
from rules.load import load_ruleset

listing = typer.Typer(
    help="Listing jobs: publish products to the shops, follow them, read them back.",
    no_args_is_help=True,
)
DEFAULT_TENANT = "local"
Sandbox = Annotated[
    str | None,
    typer.Option(help="the sandbox marketplace's root URL for every shop (instead of accounts)"),
]
PerSecond = Annotated[
    float | None,
    typer.Option(help="with --sandbox: every method's calls a second per shop (the sandbox's own)"),
]


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _place(sandbox: str | None, per_second: float | None = None) -> RunPlace:
    settings = read_settings()
    accounts = (
        Accounts.sandbox(sandbox, per_second=per_second) if sandbox else accounts_from(settings)
    )
    return RunPlace(settings.database(), settings.redis_url, accounts)


def _store() -> ListingStore:
    return ListingStore(open_catalog().store.engine)


def _bars() -> Progress:
    return Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[states]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def run_in_foreground(
    place: RunPlace, tenant: str, job_id: str, options: RunOptions | None = None
) -> JobRecord:
    """Run a job with a bar per shop; the first Ctrl-C asks it to stop (it stops within
    a call and keeps every state), a second one leaves at once."""
    store = ListingStore(open_catalog().store.engine)
    tasks: dict[str, Any] = {}
    asked = threading.Event()

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        err.print("stopping: items keep their states; `omnistock listing resume` goes on")
        store.request_cancel(tenant, job_id)

    before = signal.signal(signal.SIGINT, on_interrupt)
    try:
        with _bars() as bars:

            def progress(counts: dict[str, Counter[str]]) -> None:
                for shop, states in sorted(counts.items()):
                    done = sum(n for s, n in states.items() if ItemState(s) in TERMINAL)
                    shown = " ".join(f"{s}={n}" for s, n in sorted(states.items()))
                    if shop not in tasks:
                        tasks[shop] = bars.add_task(shop, total=sum(states.values()), states="")
                    bars.update(tasks[shop], completed=done, states=shown)

            return service.run_job(place, tenant, job_id, options, progress)
    finally:
        signal.signal(signal.SIGINT, before)
        store.dispose()


def _print_job(job: JobRecord, as_json: bool, view: dict[str, Any] | None = None) -> None:
    if as_json:
        print_json(view or job.to_json())
        return
    summary = job.summary
    states = " ".join(f"{s}={n}" for s, n in summary.get("states", {}).items())
    typer.echo(f"listing {job.id} ({job.kind}, brand {job.brand}): {job.status.value}")
    typer.echo(f"  items {summary.get('items', 0)}: {states}")
    typer.echo(f"  calls {job.calls} in {job.seconds:.1f} s over {job.runs} run(s)")
    for shop, why in summary.get("stopped", {}).items():
        typer.echo(f"  {shop} stopped: {why}")
    readback = summary.get("readback")
    if readback:
        typer.echo(
            f"  read-back: {readback['equal']}/{readback['items']} as intended "
            f"(accuracy {readback['accuracy']:.2%}), {readback.get('missing_count', 0)} missing"
        )
        for diff in readback["differences"][:20]:
            typer.echo(f"    {diff['shop']}/{diff['outer_id']}: {diff['difference']}")


@listing.command()
def publish(
    brand: Annotated[str, typer.Option(help="the brand whose products are listed")],
    shops: Annotated[str | None, typer.Option(help="only these shops (comma-separated)")] = None,
    skus: Annotated[
        str | None, typer.Option(help="only the products holding these SKUs (comma-separated)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show every payload and refusal; send nothing")
    ] = False,
    sandbox: Sandbox = None,
    per_second: PerSecond = None,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """List a brand's catalog products on its shops: one item per product and shop."""
    try:
        catalog = open_catalog()
        preview = service.preview_publish(
            catalog, tenant, brand, shops=_split(shops), skus=_split(skus)
        )
        if dry_run:
            _print_preview(preview, as_json)
            return
        store = ListingStore(catalog.store.engine)
        options = {"shops": _split(shops), "skus": _split(skus)}
        job = service.create_job(store, tenant, preview, author(), options)
        err.print(
            f"listing {job.id}: {len(preview.items)} items, {preview.refused} refused before "
            "sending",
            highlight=False,
        )
        done = run_in_foreground(_place(sandbox, per_second), tenant, job.id)
    except KNOWN_ERRORS as error:
        fail(error)
    _print_job(done, as_json)


def _print_preview(preview: service.ListingPreview, as_json: bool) -> None:
    if as_json:
        print_json(preview.to_json())
        return
    typer.echo(f"{len(preview.items)} items, {preview.refused} would be refused:")
    for item in preview.items:
        if item.refused_reason:
            typer.echo(
                f"  {item.shop}/{item.outer_id}: {item.refused_field}: {item.refused_reason}"
            )


@listing.command()
def status(
    job_id: Annotated[str, typer.Argument(help="the listing job's id")],
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """A job: its status, items done per shop and state, read-back."""
    try:
        store = _store()
        view = service.job_view(store, tenant, job_id)
        job = store.job(tenant, job_id)
    except KNOWN_ERRORS as error:
        fail(error)
    if not as_json:
        for shop, shown in view["progress"]["shops"].items():
            states = " ".join(f"{s}={n}" for s, n in shown["states"].items())
            typer.echo(f"  {shop}: {shown['done']}/{shown['total']} done ({states})")
    _print_job(job, as_json, view)


@listing.command()
def items(
    job_id: Annotated[str, typer.Argument(help="the listing job's id")],
    state: Annotated[str | None, typer.Option(help="only items in this state")] = None,
    shop: Annotated[str | None, typer.Option(help="only this shop's items")] = None,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """A job's items with their states and the platform's reasons."""
    try:
        states = [ItemState(state)] if state else None
    except ValueError:
        known = ", ".join(s.value for s in ItemState)
        err.print(f"--state: {state!r} is not a state: {known}", highlight=False)
        raise typer.Exit(2) from None
    try:
        found = _store().items(tenant, job_id, states=states, shop=shop)
    except KNOWN_ERRORS as error:
        fail(error)
    if as_json:
        print_json([item.to_json() for item in found])
        return
    for item in found:
        why = f" [{item.error}] {item.reason}" if item.reason else ""
        where = f" ({item.field})" if item.field else ""
        typer.echo(f"{item.shop}/{item.outer_id}: {item.state.value}{where}{why}")


@listing.command()
def cancel(
    job_id: Annotated[str, typer.Argument(help="the listing job's id")],
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Ask a running job to stop (its items keep their states)."""
    try:
        job = _store().request_cancel(tenant, job_id)
    except KNOWN_ERRORS as error:
        fail(error)
    typer.echo(f"listing {job.id}: cancel requested ({job.status.value})")


@listing.command()
def resume(
    job_id: Annotated[str, typer.Argument(help="the listing job's id")],
    sandbox: Sandbox = None,
    per_second: PerSecond = None,
    settle: Annotated[
        float,
        typer.Option(
            help="seconds after the last run's last sign of life before anything is sent: "
            "the longest a platform may still carry out a call its caller gave up on"
        ),
    ] = RunOptions().settle_s,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """Go on with a job's open items (after a cancel, a crash, a kill)."""
    try:
        _store().clear_cancel(tenant, job_id)
        options = RunOptions(settle_s=settle)
        done = run_in_foreground(_place(sandbox, per_second), tenant, job_id, options)
    except KNOWN_ERRORS as error:
        fail(error)
    _print_job(done, as_json)


@listing.command()
def readback(
    job_id: Annotated[str, typer.Argument(help="the listing job's id")],
    sandbox: Sandbox = None,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """Read every item the job sent from its shop now and compare it with the intent."""
    try:
        report = service.refresh(_place(sandbox), tenant, job_id)
    except KNOWN_ERRORS as error:
        fail(error)
    if as_json:
        print_json(report)
        return
    typer.echo(
        f"{report['equal']}/{report['items']} as intended (accuracy {report['accuracy']:.2%}), "
        f"{report['missing_count']} missing, read in {report['seconds']} s"
    )
    for diff in report["differences"]:
        typer.echo(f"  {diff['shop']}/{diff['outer_id']}: {diff['difference']}")
    for shop, why in report["unread"].items():
        typer.echo(f"  {shop}: not read: {why}")


@listing.command()
def push(
    plan: Annotated[Path, typer.Argument(help="the published plan (JSON)")],
    snapshot: Annotated[Path, typer.Option(help="the snapshot the plan was made from")],
    rules: Annotated[Path, typer.Option(help="the ruleset the plan was made with")],
    brand: Annotated[str | None, typer.Option(help="only this brand's shops")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would be sent and held; send nothing")
    ] = False,
    sandbox: Sandbox = None,
    per_second: PerSecond = None,
    tenant: Tenant = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """Push a plan's quantities to the shops: only what changed since it was last sent,
    a rise below the cell's sync threshold held (as the planner holds it)."""
    try:
        catalog = open_catalog()
        store = ListingStore(catalog.store.engine)
        preview, pushed = service.preview_stock(
            catalog,
            store,
            tenant,
            load_plan(plan),
            load_snapshot(snapshot),
            load_ruleset(rules),
            brand,
        )
        held = service.held_summary(pushed)
        if dry_run or not preview.items:
            if as_json:
                print_json({**preview.to_json(), **held})
                return
            typer.echo(f"{len(preview.items)} stock updates, {held['held']} cells held")
            for reason, count in held["held_by_reason"].items():
                typer.echo(f"  held: {count} x {reason}")
            return
        job = service.create_job(store, tenant, preview, author(), held)
        err.print(
            f"listing {job.id}: {len(preview.items)} stock updates, {held['held']} cells held",
            highlight=False,
        )
        done = run_in_foreground(_place(sandbox, per_second), tenant, job.id)
    except KNOWN_ERRORS as error:
        fail(error)
    _print_job(done, as_json)


@listing.command()
def listed(
    snapshot: Annotated[Path, typer.Argument(help="the snapshot to check")],
    out: Annotated[Path, typer.Option(help="the snapshot with the shops' listed stock")],
    brand: Annotated[str | None, typer.Option(help="only this brand's shops")] = None,
    sandbox: Sandbox = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Read what the shops list now into a snapshot (`listed`) for `omnistock check`,
    and show where it differs from what was last sent, with why."""
    try:
        catalog = open_catalog()
        snap = load_snapshot(snapshot)
        read = service.read_listed(_place(sandbox), catalog, tenant, snap, brand)
        store = ListingStore(catalog.store.engine)
        sent = store.last_sent(tenant, read.shops)
        found = drift(sent, read.rows, shops=set(read.shops))
        dump_json(with_listed(snap, read.rows, read.shops), out)
    except KNOWN_ERRORS as error:
        fail(error)
    typer.echo(
        f"{len(read.shops)} shops read, {len(read.rows)} listed rows written to {out}; "
        f"{read.outside} rows of SKUs the snapshot does not plan left out"
    )
    for shop, why in read.unread.items():
        typer.echo(f"  {shop}: not read: {why}")
    typer.echo(f"{len(found)} cells differ from what was last sent:")
    for cell in found[:50]:
        typer.echo(
            f"  {cell.shop}/{cell.sku}: sent {cell.intended}, listed {cell.listed}: "
            f"{cell.explanation}"
        )
    typer.echo(f"next: omnistock check {out} --plan PLAN")


def _bench_command() -> None:
    # Registered here, written in listing_bench.py (it spawns processes; the rest of
    # this module does not).
    from engine.cli.listing_bench import bench

    listing.command("bench")(bench)


_bench_command()
