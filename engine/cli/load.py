"""`omnistock load`: p50/p99 latency of plan requests under concurrent clients."""

from __future__ import annotations

import os
from typing import Annotated

import httpx
import typer
from rich.markup import escape

from engine.bench.load import prepare, run_load
from engine.cli.common import EXIT_INPUT, err


def load(
    key: Annotated[str, typer.Option(help="an operator key of the tenant to load")],
    url: Annotated[str, typer.Option(help="the running server")] = "http://127.0.0.1:8000",
    clients: Annotated[int, typer.Option(min=1, help="concurrent clients")] = 16,
    requests: Annotated[int, typer.Option(min=1, help="plan requests per client")] = 10,
    skus: Annotated[int, typer.Option(min=100, help="SKUs in the demo snapshot")] = 1000,
    stock_changes: Annotated[
        float,
        typer.Option(min=0, help="stock rows patched per second while the clients plan"),
    ] = 0.0,
    server_pid: Annotated[
        int | None,
        typer.Option(help="the `omnistock serve` process (same machine): report its CPU"),
    ] = None,
) -> None:
    """Put a demo snapshot of SKUS SKUs x 10 shops into the key's tenant, then time
    POST /v1/plans from CLIENTS concurrent clients against a running `omnistock serve`
    (with --stock-changes, while a writer patches the stock)."""
    if server_pid is not None and not os.path.exists(f"/proc/{server_pid}/stat"):
        err.print(f"[bold red]error:[/] --server-pid {server_pid}: no such process here")
        raise typer.Exit(EXIT_INPUT)
    try:
        rows = prepare(url, key, skus)
        report = run_load(url, key, clients, requests, rows, stock_changes, server_pid)
    except httpx.HTTPError as error:
        err.print(f"[bold red]error:[/] {escape(url)}: {escape(str(error))}")
        raise typer.Exit(EXIT_INPUT) from None
    typer.echo(
        f"{report.requests} plan requests ({skus} SKUs x 10 shops) from {report.clients} "
        f"clients in {report.seconds:.1f} s ({report.per_second:.1f}/s), {report.errors} errors\n"
        f"latency p50 {report.p50_ms:.0f} ms  p90 {report.p90_ms:.0f} ms  "
        f"p99 {report.p99_ms:.0f} ms  max {report.max_ms:.0f} ms  "
        f"(planner wall time in the worker p50 {report.planner_p50_ms:.0f} ms)\n"
        f"plans from {report.stock_versions} stock version(s), {report.stock_changes} stock "
        f"change(s) during the run; load average {report.load_before:.2f} before, "
        f"{report.load_after:.2f} after ({os.cpu_count()} cores)"
    )
    if report.cpu_ms_per_plan is not None:
        typer.echo(
            f"server CPU {report.server_cpu_s:.1f} s: {report.cpu_ms_per_plan:.0f} ms per plan, "
            f"at most {1000 * (os.cpu_count() or 1) / report.cpu_ms_per_plan:.1f} plans/s "
            "on this machine's cores with nothing else running"
        )
    if len(report.worker_cpu_s) > 1:
        # The kernel hashes connections over the workers' sockets: an uneven split lets
        # the busier worker set the pace and the p99, which this line makes visible.
        split = " + ".join(f"{cpu:.1f}" for cpu in report.worker_cpu_s)
        typer.echo(f"workers: {split} s CPU")
    if report.reconnects:
        # Answers with `Connection: close` from a worker above its share (api/placement.py).
        typer.echo(f"connections placed again: {report.reconnects}")
    if report.errors:
        raise typer.Exit(1)
