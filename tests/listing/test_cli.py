"""`omnistock listing`: a dry run, a publish with its progress and summary, a job's
status and items, cancel and resume, read-back, and clear one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from engine.cli.app import app
from engine.listing.sandbox import SandboxConfig
from engine.listing.sandbox.config import Limit, Review
from engine.services.catalog import Catalog
from tests.listing.conftest import PLATFORMS
from tests.listing.jobs import BRAND, TENANT, database_url, import_products, products
from tests.listing.sandbox import running_sandbox


def _invoke(catalog: Catalog, *args: str) -> tuple[int, str, str]:
    env = {"OMNISTOCK_DATABASE_URL": database_url(catalog)}
    result = CliRunner().invoke(app, ["listing", *args, "--tenant", TENANT], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_dry_run_then_publish_status_items_and_readback(catalog: Catalog) -> None:
    import_products(catalog, products(3))
    code, out, _ = _invoke(catalog, "publish", "--brand", BRAND, "--dry-run", "--json")
    assert code == 0, out
    preview = json.loads(out)
    assert preview["items"] == 3 * len(PLATFORMS) and preview["refused"] == 0
    assert {e["outer_id"] for e in preview["entries"]} == {"B000", "B001", "B002"}

    config = SandboxConfig(
        limits={p: {"*": Limit(per_second=1000)} for p in PLATFORMS}, review=Review(polls=1)
    )
    with running_sandbox(config) as root:
        code, out, err = _invoke(
            catalog, "publish", "--brand", BRAND, "--shops", "jd-s1,pdd-s1", "--sandbox", root
        )
        assert code == 0, out + err
        assert "finished" in out and "on_sale=6" in out
        assert "accuracy 100.00%" in out
        job_id = out.split()[1]
        code, out, _ = _invoke(catalog, "status", job_id)
        assert code == 0 and "jd-s1: 3/3 done" in out
        code, out, _ = _invoke(catalog, "items", job_id, "--shop", "pdd-s1", "--json")
        assert code == 0 and {i["state"] for i in json.loads(out)} == {"on_sale"}
        code, out, _ = _invoke(catalog, "readback", job_id, "--sandbox", root)
        assert code == 0 and out.startswith("6/6 as intended"), out
        # Cancel after the end: a clear refusal, exit 2.
        code, out, err = _invoke(catalog, "cancel", job_id)
        assert code == 2 and "has finished" in out + err


def test_bad_input_is_one_line_naming_what_is_wrong(catalog: Catalog, tmp_path: Path) -> None:
    import_products(catalog, products(1))
    code, out, err = _invoke(catalog, "publish", "--brand", BRAND, "--shops", "nope", "--dry-run")
    assert code == 2 and "shops[0]" in out + err and "Traceback" not in out + err
    code, out, err = _invoke(catalog, "status", "no-such-job")
    assert code == 2 and "no-such-job" in out + err
    code, out, err = _invoke(catalog, "items", "x", "--state", "lost")
    assert code == 2 and "not a state" in out + err
    # No accounts file and no sandbox: every shop's items fail, naming the shop.
    code, out, err = _invoke(catalog, "publish", "--brand", BRAND, "--shops", "jd-s1")
    assert code == 0, out + err
    assert "failed=1" in out
    job_id = out.split()[1]
    code, out, _ = _invoke(catalog, "items", job_id)
    assert "jd-s1 has no marketplace account" in out
