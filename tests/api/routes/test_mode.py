"""GET and PUT /v1/mode, on the memory and the Redis store: a switch reaches plans and
publishing; a scheduled peak is in force only in its window."""

from __future__ import annotations

from tests.api.planning_env import Env, env, setup_plan

__all__ = ["env"]


def test_mode_switch_reaches_plans_and_publishing(env: Env) -> None:
    c, op = env.client, env.operator
    setup_plan(env)
    assert c.get("/v1/mode", headers=op).json()["effective"] == "normal"
    switched = c.put("/v1/mode", json={"mode": "peak"}, headers=op)
    assert switched.status_code == 200 and switched.json()["effective"] == "peak"
    assert env.store.get_mode().mode == "peak"  # what every other worker reads
    plan = c.post("/v1/plans", json={}, headers=op).json()
    assert plan["plan"]["mode"] == "peak"

    past = {
        "mode": "peak",
        "start": "2020-11-10T00:00:00+08:00",
        "end": "2020-11-12T00:00:00+08:00",
    }
    scheduled = c.put("/v1/mode", json=past, headers=op).json()
    assert scheduled["mode"] == "peak" and scheduled["effective"] == "normal"
    assert c.post("/v1/plans", json={}, headers=op).json()["plan"]["mode"] == "normal"

    backwards = {
        "mode": "peak",
        "start": "2026-11-12T00:00:00+08:00",
        "end": "2026-11-11T00:00:00+08:00",
    }
    bad = c.put("/v1/mode", json=backwards, headers=op)
    assert bad.status_code == 422 and "end" in bad.text
    naive = c.put("/v1/mode", json={"mode": "peak", "start": "2026-11-11T00:00:00"}, headers=op)
    assert naive.status_code == 422 and "start" in naive.text
    assert c.put("/v1/mode", json={"mode": "busy"}, headers=op).status_code == 422
    assert c.put("/v1/mode", json={"mode": "peak"}, headers=env.viewer).status_code == 403


def test_a_bad_moment_is_named_by_its_field(env: Env) -> None:
    c, op = env.client, env.operator
    soon = c.put("/v1/mode", json={"mode": "peak", "start": "soon"}, headers=op)
    assert soon.status_code == 422
    assert soon.json()["detail"] == [
        {
            "path": "body.start",
            "message": "not an ISO 8601 moment: 'soon' (e.g. 2026-11-11T00:00:00+08:00)",
        }
    ]
    both = c.put("/v1/mode", json={"mode": "peak", "start": "x", "end": "y"}, headers=op)
    assert [d["path"] for d in both.json()["detail"]] == ["body.start", "body.end"]
    naive = c.put("/v1/mode", json={"mode": "peak", "end": "2026-11-11T00:00:00"}, headers=op)
    assert naive.json()["detail"] == [{"path": "body.end", "message": "must carry a time zone"}]
    assert env.store.get_mode().mode == "normal", "nothing stored"
