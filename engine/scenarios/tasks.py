"""The what-if scenario job kind (engine/jobs/kinds.py): a scenario played on the
tenant's stored snapshot and latest ruleset, stored with its comparison and charts.

In the service the base is the stored data, never a file on the server: a scenario
body that names base files is refused.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from engine.core.errors import InputError, Issue
from engine.core.io import parse_snapshot
from engine.jobs.kinds import JobKind, Report
from engine.scenarios.format import Scenario, parse_scenario
from engine.scenarios.overrides import build_variants
from engine.store.base import JsonObject, Store
from rules.load import parse_ruleset


def _checked(document: JsonObject) -> Scenario:
    try:
        scenario = parse_scenario(document)
    except InputError as error:  # a request body: its issues' paths start at `body`
        raise InputError(error.issues, "body") from None
    named = [k for k in ("snapshot", "ruleset") if getattr(scenario.base, k) is not None]
    if named:
        message = "the service plays scenarios on the stored snapshot and ruleset; leave it out"
        raise InputError([Issue(f"base.{key}", message) for key in named], "body")
    return scenario


def _stored_base(store: Store) -> tuple[JsonObject, JsonObject]:
    return store.get_snapshot().body, store.get_ruleset().body


def check_scenario(store: Store, document: JsonObject) -> Scenario:
    """The scenario, every variant built against the stored data: InputError naming the
    variant and override otherwise (so a bad body is a 422 now, not a failed job)."""
    scenario = _checked(document)
    snapshot, ruleset = _stored_base(store)
    base = parse_snapshot(snapshot, "stored snapshot"), parse_ruleset(ruleset, "stored ruleset")
    try:
        build_variants(scenario, *base)
    except InputError as error:
        raise InputError(error.issues, error.source or "body") from None
    return scenario


def _prepare(store: Store, args: JsonObject) -> JsonObject:
    snapshot, ruleset = _stored_base(store)
    return {**args, "snapshot": snapshot, "ruleset": ruleset}


def _run(args: JsonObject, report: Report) -> JsonObject:
    from engine.scenarios.charts import write_charts
    from engine.scenarios.compare import comparison, to_json
    from engine.scenarios.run import run_scenario, settings_for

    scenario = _checked(args["scenario"])
    snapshot = parse_snapshot(args["snapshot"], "stored snapshot")
    ruleset = parse_ruleset(args["ruleset"], "stored ruleset")
    settings = settings_for(scenario)
    steps = settings.horizon_days * settings.replications
    total = steps * (len(scenario.variants) + 1)
    finished: dict[str, int] = {}

    def progress(variant: str, done: int, _: int) -> None:
        finished[variant] = done
        report(variant, sum(finished.values()), total)

    run = run_scenario(scenario, snapshot, ruleset, settings, 1, progress, args["time_limit_s"])
    compared = comparison(run.results)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_charts(compared, Path(folder))
        charts = {p.name: base64.b64encode(p.read_bytes()).decode() for p in paths}
    return {"comparison": to_json(compared), "notes": run.notes, "charts": charts}


def _finish(store: Store, outcome: JsonObject, run_id: str) -> JsonObject:
    store.put_scenario_run(run_id, outcome)
    return {"scenario_id": run_id}


SCENARIO_JOB = JobKind("scenario", _prepare, _run, _finish)
