"""`omnistock catalog ...`, `validate --catalog` and `demo` end to end, on a SQLite
database of the test's own (OMNISTOCK_DATABASE_URL) and the demo's committed files:
what an agency's operator sees at the terminal."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from engine.cli.app import app
from tests.catalog.files import write_csv

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo"
ZH_HEADER = ["品牌", "款号", "商品标题", "类目", "年份", "商家编码", "规格", "吊牌价", "成本价"]
runner = CliRunner()


@dataclass(frozen=True)
class Cli:
    """The command line with its own database and key file (the database's default
    home is beside the key file)."""

    home: Path

    def __call__(self, *args: str | Path) -> Result:
        env = {
            "OMNISTOCK_DATABASE_URL": f"sqlite:///{self.home / 'catalog.db'}",
            "OMNISTOCK_KEYS_FILE": str(self.home / "keys.json"),
        }
        return runner.invoke(app, [str(a) for a in args], env=env)

    def json(self, *args: str | Path) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@dataclass(frozen=True)
class Demo:
    cli: Cli
    imported: dict[str, Any]  # the first import's --json report


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo's catalog imported, then its shops set (the order an agency starts in)."""
    cli = Cli(tmp_path_factory.mktemp("demo"))
    imported = cli.json("catalog", "import", DEMO / "catalog.csv")
    shops = cli("catalog", "shops", DEMO / "shops.yaml")
    assert shops.exit_code == 0, shops.output
    assert "10 shops set" in shops.stdout
    return Demo(cli, imported)


def demo_rows() -> list[dict[str, str]]:
    with (DEMO / "catalog.csv").open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


# --- the demo's catalog ------------------------------------------------------------------


def test_the_demo_catalog_imports_and_check_shows_what_blocks_it(demo: Demo) -> None:
    rows = demo_rows()
    spus = list(dict.fromkeys(f"{r['品牌']}/{r['款号']}" for r in rows))
    report = demo.imported
    assert (report["products"], report["skus"]) == (len(spus), len(rows))
    assert report["created"] == spus and report["updated"] == report["unchanged"] == []

    checked = demo.cli.json("catalog", "check")
    # Every brand has shops: products are checked on their shops' platforms only.
    platforms = {p["platform"]: p for p in checked["platforms"]}
    assert set(platforms) == {"tmall", "jd", "douyin", "pdd"}
    assert platforms["tmall"]["products"] == platforms["jd"]["products"] == len(spus)
    for summary in checked["platforms"]:
        assert 0 < summary["ready"] < summary["products"], summary
    blockers = checked["blockers"]
    counts = [b["products"] for b in blockers]
    assert counts == sorted(counts, reverse=True)
    found = {(b["platform"], b["field"], b["rule"]) for b in blockers}
    assert {("tmall", "title", "maxWidth"), ("jd", "images", "required")} <= found
    not_ready = {(p["platform"], p["brand"], p["spu_code"]) for p in checked["products"]}
    assert len(not_ready) == sum(s["products"] - s["ready"] for s in checked["platforms"])
    wide = next(b for b in blockers if (b["platform"], b["field"]) == ("tmall", "title"))
    assert ("tmall", *wide["examples"][0].split("/")) in not_ready

    shown = demo.cli("catalog", "check", "--platform", "tmall")
    assert shown.exit_code == 0, shown.output
    assert "what blocks products" in shown.stdout and "maxWidth" in shown.stdout


def test_importing_the_demo_again_changes_nothing(demo: Demo) -> None:
    again = demo.cli.json("catalog", "import", DEMO / "catalog.csv")
    assert again["created"] == again["updated"] == []
    assert again["unchanged"] == demo.imported["created"]


def test_show_and_payload_of_a_demo_sku(demo: Demo) -> None:
    shown = demo.cli.json("catalog", "show", "B1-0001")
    assert (shown["product"]["brand"], shown["product"]["spu_code"]) == ("b1", "B1-0001-SPU")
    assert shown["version"] == 1 and shown["author"].startswith("cli")
    plain = demo.cli("catalog", "show", "b1/B1-0001-SPU")
    assert plain.exit_code == 0 and shown["product"]["title"] in plain.stdout

    sent = demo.cli("catalog", "payload", "B1-0001", "--shop", "tm-b1")
    assert sent.exit_code == 0, sent.output
    payload = json.loads(sent.stdout)
    assert payload["platform"] == "tmall"
    assert payload["payload"]["location"] == {"state": "上海", "city": "上海"}
    assert payload["payload"]["freight_template_id"] == "ft-tm-b1"
    assert payload["payload"]["quantity"] == 0

    for args, named in [
        (("show", "NO-SUCH-SKU"), "SKU NO-SUCH-SKU not found"),
        (("show", "b1/NO-SUCH-SPU"), "product b1/NO-SUCH-SPU not found"),
        (("payload", "B1-0001", "--shop", "tm-b2"), "SKU B1-0001 of brand b2 not found"),
        (("payload", "B1-0001", "--shop", "tm-zz"), "shop tm-zz"),
        (("check", "--platform", "amazon"), "unknown platform 'amazon'"),
    ]:
        refused = demo.cli("catalog", *args)
        assert refused.exit_code == 2, (args, refused.output)
        assert named in refused.stderr, (args, refused.stderr)


def test_validate_checks_a_snapshot_against_the_catalog(demo: Demo, tmp_path: Path) -> None:
    snapshot = DEMO / "snapshot.json"
    passed = demo.cli("validate", snapshot, "--catalog", "local")
    assert passed.exit_code == 0, passed.output
    elsewhere = demo.cli("validate", snapshot, "--catalog", "no-such-tenant")
    assert elsewhere.exit_code == 2 and "skus[0].id" in elsewhere.stderr

    # B1-P00002 is imported again without its second SKU, B1-0003 (the snapshot's third).
    lines = (DEMO / "catalog.csv").read_bytes().splitlines(keepends=True)
    kept = [lines[0], *(line for line in lines if b",B1-0002," in line)]
    assert len(kept) == 2
    (tmp_path / "dropped.csv").write_bytes(b"".join(kept))
    dropped = demo.cli.json("catalog", "import", tmp_path / "dropped.csv")
    assert dropped["updated"] == ["b1/B1-P00002"]
    failed = demo.cli("validate", snapshot, "--catalog", "local")
    assert failed.exit_code == 2
    assert "skus[2].id" in failed.stderr and "'B1-0003'" in failed.stderr
    assert "skus[1].id" not in failed.stderr

    history = demo.cli.json("catalog", "show", "B1-0002", "--history")
    versions = [(v["version"], v["changes"]) for v in history[0]["versions"]]
    assert versions == [(2, ["-skus[B1-0003]"]), (1, ["created"])]
    restored = demo.cli("catalog", "restore", "b1/B1-P00002", "1")
    assert restored.exit_code == 0 and "at version 3" in restored.stdout
    assert demo.cli("validate", snapshot, "--catalog", "local").exit_code == 0
    back = demo.cli.json("catalog", "show", "B1-0003")
    assert back["version"] == 3 and back["source"] == "restore of v1"
    assert [s["sku_code"] for s in back["product"]["skus"]] == ["B1-0002", "B1-0003"]
    old = demo.cli.json("catalog", "show", "B1-0002", "--version", "2")
    assert [s["sku_code"] for s in old["product"]["skus"]] == ["B1-0002"]


# --- files of the test's own ----------------------------------------------------------------


def test_a_bad_file_exits_2_naming_rows_and_columns_and_imports_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    rows = [
        ["b1", "P1", "跑步鞋", "鞋靴 > 跑步鞋", "2026", "P1-40", "尺码=40", "399.00", "-5"],
        ["b1", "P2", "跑步鞋", "鞋靴 > 跑步鞋", "2026", "P2-40", "尺码=40", "399.00", "150"],
        ["b1", "P3", "跑步鞋", "鞋靴 > 跑步鞋", "2026", "P3-40", "尺码=40", "3,99.0", "150"],
    ]
    path = write_csv(tmp_path / "bad.csv", ZH_HEADER, rows, encoding="utf-8-sig")
    refused = cli("catalog", "import", path)
    assert refused.exit_code == 2, refused.output
    assert "row 2, column '成本价'" in refused.stderr
    assert "row 4, column '吊牌价'" in refused.stderr
    assert "Traceback" not in refused.output and refused.stdout == ""
    assert cli("catalog", "show", "P2-40").exit_code == 2  # the good row was not imported
    assert cli.json("catalog", "check") == {"platforms": [], "blockers": [], "products": []}


def test_a_gbk_file_imports(cli: Cli, tmp_path: Path) -> None:
    title = "轻量缓震跑步鞋 男款 透气网面"
    rows = [
        ["b1", "P1", title, "鞋靴 > 跑步鞋", "2026", "P1-40", "尺码=40", "399.00", "150.00"],
        ["b1", "P1", title, "鞋靴 > 跑步鞋", "2026", "P1-41", "尺码=41", "399.00", "150.00"],
    ]
    path = write_csv(tmp_path / "gbk.csv", ZH_HEADER, rows, encoding="gbk")
    assert path.read_bytes().decode("gbk")  # and not UTF-8:
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    report = cli.json("catalog", "import", path)
    assert (report["created"], report["skus"]) == (["b1/P1"], 2)
    shown = cli.json("catalog", "show", "P1-41")
    assert shown["product"]["title"] == title
    assert shown["product"]["skus"][1]["spec"] == {"尺码": "41"}


def test_show_takes_a_sku_code_with_a_slash(cli: Cli, tmp_path: Path) -> None:
    rows = [["b1", "P1", "跑步鞋", "鞋靴 > 跑步鞋", "2026", "TS-01/BLK/M", "尺码=M", "99", ""]]
    cli.json("catalog", "import", write_csv(tmp_path / "slash.csv", ZH_HEADER, rows))
    shown = cli.json("catalog", "show", "TS-01/BLK/M")
    assert shown["product"]["spu_code"] == "P1"
    assert cli.json("catalog", "show", "b1/P1") == shown
    missing = cli("catalog", "show", "b1/P2")
    assert missing.exit_code == 2 and "product b1/P2 not found" in missing.stderr


def test_demo_writes_the_committed_files(tmp_path: Path) -> None:
    written = runner.invoke(app, ["demo", str(tmp_path)])
    assert written.exit_code == 0, written.output
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    alipay = ["alipay-account.csv", "alipay-trade.zip", "contract.yaml", "orders.csv"]
    settlement = {
        "b1": [*alipay, "warehouse.csv"],
        "b2": ["contract.yaml", "orders.csv", "warehouse.csv", "wechat.csv"],
        "b3": [*alipay, "warehouse.csv"],
    }
    assert names == [
        "catalog.csv",
        "promotions.yaml",
        "rules.yaml",
        *[f"settlement/{brand}/{name}" for brand, files in settlement.items() for name in files],
        "shops.yaml",
        "snapshot.json",
    ]
    for name in names:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name


def test_demo_at_any_size_and_seed_is_deterministic(tmp_path: Path) -> None:
    for run in ("one", "two"):
        done = runner.invoke(app, ["demo", str(tmp_path / run), "--skus", "300", "--seed", "3"])
        assert done.exit_code == 0, done.output
    snapshot = json.loads((tmp_path / "one" / "snapshot.json").read_text(encoding="utf-8"))
    assert len(snapshot["skus"]) == 300
    for name in ("snapshot.json", "rules.yaml", "catalog.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    other = runner.invoke(app, ["demo", str(tmp_path / "three"), "--skus", "300", "--seed", "4"])
    assert other.exit_code == 0
    assert (tmp_path / "three" / "snapshot.json").read_bytes() != (
        tmp_path / "one" / "snapshot.json"
    ).read_bytes()
    refused = runner.invoke(app, ["demo", str(tmp_path / "four"), "--skus", "0"])
    assert refused.exit_code == 2 and not (tmp_path / "four").exists()
