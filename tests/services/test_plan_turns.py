"""Plans made now take turns in a worker (Settings.plans_at_once): requests of one
worker's thread pool plan one after the other, not all at once under the GIL."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from engine.core.settings import Settings
from engine.services import plan_jobs
from engine.store.memory import MemoryStore
from tests.helpers import snapshot_data


def busy_planner(record: dict[str, int], real: Any) -> Any:
    lock = threading.Lock()

    def compute(prepared: Any, time_limit_s: float) -> Any:
        with lock:
            record["now"] += 1
            record["most"] = max(record["most"], record["now"])
        time.sleep(0.05)  # long enough for the other threads to arrive
        try:
            return real(prepared, time_limit_s)
        finally:
            with lock:
                record["now"] -= 1

    return compute


@pytest.mark.parametrize("at_once", [1, 2])
def test_no_more_plans_at_once_than_the_setting(
    monkeypatch: pytest.MonkeyPatch, at_once: int
) -> None:
    store = MemoryStore("t1")
    store.put_snapshot({**snapshot_data(pools={"S": 10, "T": 4}), "tenant": "t1"})
    store.put_ruleset({"rules": [{"id": "r-eq", "type": "equal_split"}]})
    record = {"now": 0, "most": 0}
    monkeypatch.setattr(
        plan_jobs, "compute_prepared", busy_planner(record, plan_jobs.compute_prepared)
    )
    settings = Settings(plans_at_once=at_once)
    answers: list[Any] = []

    def ask() -> None:
        answers.append(plan_jobs.plan_now_or_job(store, None, None, "now", settings))  # type: ignore[arg-type]

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6 and all("plan" in a for a in answers)
    assert record["most"] == at_once


def test_the_setting_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="plans_at_once"):
        Settings(plans_at_once=0)


def test_turns_go_in_the_order_asked_even_to_one_asking_again_at_once() -> None:
    """A semaphore lets the thread that gives a turn back take it again at once, ahead
    of the waiters (each then queues anew at the back); fair turns go to the longest
    waiter, and the one asking again waits behind them."""
    turns = plan_jobs.FairTurns(1)
    order: list[str] = []

    def plan(name: str) -> None:
        with turns:
            order.append(name)

    waiters = [threading.Thread(target=plan, args=(name,)) for name in ("b", "c")]
    with turns:
        order.append("a")
        for count, waiter in enumerate(waiters, start=1):
            waiter.start()
            while turns.waiting < count:  # each in the queue before the next comes
                time.sleep(0.001)
    plan("a again")  # at once, while "b" is only being woken
    for waiter in waiters:
        waiter.join()
    assert order == ["a", "b", "c", "a again"]


@pytest.mark.parametrize("at_once", [1, 3])
def test_fair_turns_hold_no_more_than_at_once(at_once: int) -> None:
    turns = plan_jobs.FairTurns(at_once)
    inside = {"now": 0, "most": 0}
    count = threading.Lock()

    def plan() -> None:
        with turns:
            with count:
                inside["now"] += 1
                inside["most"] = max(inside["most"], inside["now"])
            time.sleep(0.01)
            with count:
                inside["now"] -= 1

    threads = [threading.Thread(target=plan) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inside == {"now": 0, "most": at_once}
    assert turns.waiting == 0
