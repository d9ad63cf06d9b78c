"""The benchmark's month generator (its files read back by the real readers, with the
counts asked, the same bytes for the same seed) and `omnistock settle bench` end to end
at a small size. No timing is asserted: the times are the command's output."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli.app import app
from engine.core.errors import InputError
from engine.settlement.benchdata import write_month
from engine.settlement.contract import load_contract
from engine.settlement.records import Outcome, Provider
from engine.settlement.settle import order_map_of, settle
from engine.settlement.sources import read_settlement_file


def test_the_files_read_back_with_the_counts_asked(tmp_path: Path) -> None:
    month = write_month(tmp_path, 3_000, seed=4, payments=3_400, movements=3_200)
    order_map = order_map_of(load_contract(month.contract))
    read = {
        path.name: read_settlement_file(path, order_map)
        for paths in month.files.values()
        for path in paths
    }
    assert {name: source.kind for name, source in read.items()} == {
        "orders.csv": "orders",
        "alipay-trade.zip": "payments",
        "alipay-account.csv": "payments",
        "warehouse.csv": "movements",
    }
    assert read["alipay-trade.zip"].provider == Provider.ALIPAY_TRADE
    assert read["alipay-account.csv"].provider == Provider.ALIPAY_ACCOUNT
    assert {name: source.frame.height for name, source in read.items()} == month.rows
    assert read["orders.csv"].frame.height == 3_000
    assert read["alipay-trade.zip"].frame.height + read["alipay-account.csv"].frame.height == 3_400
    assert read["warehouse.csv"].frame.height == 3_200
    # The account bill holds fee rows, some naming their order only in the note.
    account = read["alipay-account.csv"].frame
    fees = account.filter(account["kind"] == "fee")
    assert fees.height > 0 and fees["merchant_order_no"].null_count() > 0
    assert fees["order_id"].null_count() < fees.height


def test_the_files_are_in_the_platforms_encodings_and_shapes(tmp_path: Path) -> None:
    month = write_month(tmp_path, 1_000, seed=4)
    orders = (tmp_path / "orders.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        orders.decode("utf-8")  # GBK, as the platform writes it
    assert orders.decode("gbk").startswith("订单编号,") and b"\r\n" in orders
    with zipfile.ZipFile(month.files["payments"][0]) as archive:
        infos = archive.infolist()
        # Member names as Windows tools store them: GBK bytes, no UTF-8 flag.
        assert all(not info.flag_bits & 0x800 for info in infos)
        names = [info.filename.encode("cp437").decode("gbk") for info in infos]
        assert any(name.endswith("业务明细.csv") for name in names)
        assert any("汇总" in name for name in names)
        detail = archive.read(infos[0]).decode("gbk")
    lines = detail.split("\r\n")
    assert lines[0].startswith("#支付宝业务明细查询")
    header = next(i for i, line in enumerate(lines) if line.startswith("支付宝交易号"))
    assert lines[header + 1].split(",")[0].endswith("\t")  # ids keep Alipay's tab
    assert any("业务明细列表结束" in line for line in lines[header:])


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    first = write_month(tmp_path / "a", 2_000, seed=9)
    again = write_month(tmp_path / "b", 2_000, seed=9)
    other = write_month(tmp_path / "c", 2_000, seed=10)
    for name in first.rows:
        assert (first.directory / name).read_bytes() == (again.directory / name).read_bytes()
    assert (first.directory / "orders.csv").read_bytes() != (
        other.directory / "orders.csv"
    ).read_bytes()


def test_counts_that_cannot_hold_the_orders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        write_month(tmp_path, 2_000, payments=1_000)
    assert "payments" in str(error.value)
    with pytest.raises(InputError) as error:
        write_month(tmp_path, 2_000, movements=500)
    assert "movements" in str(error.value)


def test_a_generated_month_settles_with_every_outcome_present(tmp_path: Path) -> None:
    month = write_month(tmp_path, 2_000, seed=2)
    done = settle(
        month.files["orders"],
        month.files["payments"],
        month.files["movements"],
        load_contract(month.contract),
        "2026-11",
    )
    outcomes = done.outcomes
    assert outcomes.height == sum(month.totals.values())
    assert set(outcomes["outcome"].unique()) == {o.value for o in Outcome}
    # Most of a month is clean.
    matched = outcomes.filter(outcomes["outcome"] == Outcome.MATCHED.value).height
    assert matched > 0.85 * outcomes.height


def test_the_bench_command_runs_every_phase_and_prints_the_table(tmp_path: Path) -> None:
    records = tmp_path / "bench.json"
    keep = tmp_path / "work"
    result = CliRunner().invoke(
        app,
        ["settle", "bench", "--orders", "20000", "--seed", "3", "--dir", str(keep),
         "--json", str(records)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    for shown in (
        "files generated",
        "read the files alone",
        "omnistock settle end to end",
        "writing the outputs",
        "pandas matching",
        "ratio pandas / omnistock (matching)",
        "ratio settle / read",
        "target under 30 s",
        "target under 4 GiB",
        "outcome counts equal",
    ):
        assert shown in out, shown
    data = json.loads(records.read_text(encoding="utf-8"))
    assert data["orders"] == 20_000 and data["counts_equal"] is True
    assert {p["name"] for p in data["phases"]} == {
        "read", "match", "settle", "write", "pandas load", "pandas match"
    }  # fmt: skip
    assert all(p["seconds"] > 0 and p["peak_mib"] > 0 for p in data["phases"])
    assert data["counts"]["pandas"] == data["counts"]["omnistock"]
    assert sum(data["counts"]["omnistock"].values()) == 60_000
    assert sum(f["rows"] for f in data["files"].values()) == 60_000
    # --dir keeps the month, the outputs and the hand-off.
    assert (keep / "month" / "orders.csv").is_file()
    assert (keep / "out" / "bill.json").is_file()
    assert (keep / "handoff" / "payments.csv").is_file()


def test_the_bench_without_pandas_and_its_bad_options(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["settle", "bench", "--orders", "1000", "--no-pandas"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "pandas matching" not in result.stdout and "outcome counts equal" in result.stdout
    result = runner.invoke(app, ["settle", "bench", "--orders", "10"])
    assert result.exit_code == 2 and "--orders" in result.stdout + result.stderr
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = runner.invoke(app, ["settle", "bench", "--dir", str(a_file)])
    assert result.exit_code == 2 and "--dir" in result.stdout + result.stderr


def test_settle_alone_still_asks_for_its_options(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["settle"])
    assert result.exit_code == 2 and "Missing option '--contract'" in result.stderr
    result = runner.invoke(app, ["settle", "--contract", "c.yaml", "--period", "2026-11"])
    assert result.exit_code == 2 and "Missing option '--orders'" in result.stderr
    # The bare run's options do not go with the bench.
    result = runner.invoke(app, ["settle", "--contract", "c.yaml", "bench"])
    assert result.exit_code == 2 and "--contract" in result.stderr
