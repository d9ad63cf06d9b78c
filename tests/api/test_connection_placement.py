"""Even placement of kept-alive connections over `omnistock serve`'s workers
(api/placement.py): a worker above its fair share closes a connection after its answer,
the client reconnects and the kernel places it again, until the split is even; then
every connection is kept alive. Shown on a real server (two workers, Redis) with real
sockets, from a start where one worker holds all 16 connections."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from api.placement import ConnectionShares, fair_share
from engine.access.repository import JsonFileKeyRepository
from tests.api.test_server import ROOT, _free_port, _wait_until_up

REDIS_URL = os.environ.get("OMNISTOCK_REDIS_URL") or "redis://127.0.0.1:6379/15"
CLIENTS = 16


@given(
    st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=20),
)
def test_fair_share_is_the_even_split_rounded_up(counts: list[int], in_flight: int) -> None:
    share = fair_share(counts, in_flight)
    everyone = sum(counts) + in_flight
    assert share * len(counts) >= everyone  # room for every connection at its share
    assert (share - 1) * len(counts) < everyone  # and no more room than that


def test_fair_share_examples() -> None:
    assert fair_share([11, 5], 0) == 8  # the 11 must give up 3
    assert fair_share([9, 7], 0) == 8  # one too many: it moves
    assert fair_share([8, 7], 0) == 8  # 15 over 2 is as even as it gets
    assert fair_share([8, 0], 8) == 8  # 8 closed, on their way back: hold on to 8
    assert fair_share([0, 0], 0) == 0


def _other_worker(shares: ConnectionShares, joined: Any, done: Any) -> None:
    """A second worker holding a slot and no connection, until told to go."""
    shares.join()
    joined.set()
    done.wait(30)
    shares.leave()


def test_a_connection_told_to_close_counts_as_gone_at_once() -> None:
    """This worker holds 3 connections, the other none: one must move (fair share 2).
    Its answer may still be leaving when the next answer asks: the worker must not
    close a second one for it, nor once it has gone (2 stay, 1 is on its way back)."""
    spawn = multiprocessing.get_context("spawn")
    shares = ConnectionShares(2)
    joined, done = spawn.Event(), spawn.Event()
    other = spawn.Process(target=_other_worker, args=(shares, joined, done))
    other.start()
    try:
        assert joined.wait(30)
        assert shares.join()
        for _ in range(3):
            shares.opened()
        first, second = ("127.0.0.1", 50001), ("127.0.0.1", 50002)
        assert shares.move_one(first)
        assert not shares.move_one(first)  # told once
        assert not shares.move_one(second)  # 2 staying + 1 on its way: 2 is the share
        shares.closed(first)
        assert not shares.move_one(second)
    finally:
        done.set()
        other.join(30)
        shares.leave()


def _serve(keys_file: str, balance: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "OMNISTOCK_KEYS_FILE": keys_file,
        "OMNISTOCK_REDIS_URL": REDIS_URL,
        "OMNISTOCK_RATE_LIMIT_PER_S": "0",  # a few hundred quick requests on one key
        "OMNISTOCK_BALANCE_CONNECTIONS": "true" if balance else "false",
    }
    command = [sys.executable, "-m", "engine.cli", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(f"{base}/healthz", server, seconds=90)
    return server, base


@pytest.fixture(scope="module")
def tenant_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tenant = f"t{uuid.uuid4().hex[:12]}"
    keys_file = tmp_path_factory.mktemp("placement") / "keys.json"
    key = JsonFileKeyRepository(keys_file).create(tenant, "operator")[0]
    yield str(keys_file), key
    client = redis.Redis.from_url(REDIS_URL)
    for name in client.scan_iter(f"omnistock:{tenant}:*"):
        client.delete(name)
    client.close()


def _ask(client: httpx.Client, key: str) -> tuple[str, bool]:
    """One request on the client's connection: the worker that answered, and whether
    it closes the connection after this answer."""
    answer = client.get("/v1/mode", headers={"Authorization": f"Bearer {key}"})
    answer.raise_for_status()
    return answer.headers["X-Worker"], answer.headers.get("connection") == "close"


def _all_on_one_worker(base: str, key: str) -> list[httpx.Client]:
    """CLIENTS clients whose open connections are all on one worker (the other holds
    none): new clients connect until one worker has kept CLIENTS of them; the rest are
    closed."""
    kept: dict[str, list[httpx.Client]] = {}
    spare: list[httpx.Client] = []
    for _ in range(400):
        client = httpx.Client(base_url=base, timeout=30)
        worker, closing = _ask(client, key)
        if closing:
            spare.append(client)
            continue
        kept.setdefault(worker, []).append(client)
        if len(kept[worker]) == CLIENTS:
            for others in kept.values():
                spare += [client for client in others if client not in kept[worker]]
            for client in spare:
                client.close()
            return kept[worker]
    raise AssertionError(f"no worker kept {CLIENTS} connections in 400: {kept}")


@pytest.mark.parametrize("balance", [True, False], ids=["balanced", "off"])
def test_an_uneven_start_evens_out_then_connections_stay(
    tenant_key: tuple[str, str], balance: bool
) -> None:
    keys_file, key = tenant_key
    server, base = _serve(keys_file, balance)
    try:
        clients = _all_on_one_worker(base, key)
        time.sleep(1.5)  # the closed ones seen gone; none counted as coming back
        rounds: list[list[tuple[str, bool]]] = []
        for _ in range(30):
            rounds.append([_ask(client, key) for client in clients])
            if not any(closing for _, closing in rounds[-1]):
                break
        last = rounds[-1]
        kept = [_ask(client, key) for client in clients]
    finally:
        for client in clients:
            client.close()
        server.terminate()
        server.wait(timeout=30)
    moves = sum(closing for one_round in rounds for _, closing in one_round)
    split = sorted(Counter(worker for worker, _ in last).values())
    if balance:
        # 16 on one worker, none on the other: at least 8 must have moved, and the
        # split ends even, each connection then kept on its worker.
        assert moves >= CLIENTS // 2, rounds
        assert split == [CLIENTS // 2, CLIENTS // 2], rounds
        assert len(rounds) < 30, rounds
    else:
        assert moves == 0 and split == [CLIENTS], rounds
    assert kept == [(worker, False) for worker, _ in last]
