"""POST /v1/orders, on the memory and the Redis store: the shop's own units first, then
the SKU's shared part; short is a 409 with what is available."""

from __future__ import annotations

from tests.api.planning_env import Env, env, publish, setup_plan

__all__ = ["env"]


def test_orders_until_short(env: Env) -> None:
    c, op = env.client, env.operator
    publish(env, setup_plan(env), "k1")
    published = c.get("/v1/published", headers=op).json()
    cell = next(p for p in published if p["sku"] == "S" and p["quantity"] > 0)

    order = {"shop": cell["shop"], "sku": "S", "quantity": 1}
    for left in range(cell["quantity"] - 1, -1, -1):
        response = c.post("/v1/orders", json=order, headers=op)
        assert response.status_code == 200, response.text
        assert response.json()["remaining"] == left
    short = c.post("/v1/orders", json=order, headers=op)
    assert short.status_code == 409
    assert short.json()["detail"] | {"message": ""} == {
        "shop": cell["shop"],
        "sku": "S",
        "requested": 1,
        "available": 0,
        "message": "",
    }
    unknown = c.post("/v1/orders", json={**order, "sku": "NOPE"}, headers=op)
    assert unknown.status_code == 404
    bad = c.post("/v1/orders", json={**order, "quantity": 0}, headers=op)
    assert bad.status_code == 422 and bad.json()["detail"][0]["path"] == "body.quantity"


def test_orders_sell_the_shared_part_from_every_shop_that_lists_it(env: Env) -> None:
    c, op = env.client, env.operator
    assert c.put("/v1/snapshot", json=env.snapshot(), headers=op).status_code == 200
    rules = [{"id": "r-shared", "type": "shared_pool", "shops": ["A", "B"], "scope": {}}]
    assert c.put("/v1/ruleset", json={"rules": rules}, headers=op).status_code == 200
    plan = c.post("/v1/plans", json={}, headers=op).json()
    key = {"Idempotency-Key": "k-shared", **op}
    receipt = c.post(f"/v1/plans/{plan['plan_id']}/publish", json={}, headers=key).json()
    assert receipt["shared_units"] == 14, receipt  # S 10 and T 4, each counted once
    rows = {(r["shop"], r["sku"]): r for r in c.get("/v1/published", headers=op).json()}
    assert rows[("A", "S")]["shared"] == rows[("B", "S")]["shared"] == 10
    assert ("C", "S") not in rows or rows[("C", "S")]["shared"] == 0

    sold = c.post("/v1/orders", json={"shop": "A", "sku": "S", "quantity": 7}, headers=op)
    assert sold.status_code == 200, sold.text
    assert sold.json() | {"quantity": 0} == {
        "shop": "A",
        "sku": "S",
        "quantity": 0,
        "remaining": 3,
        "from_shared": 7,
    }
    # B lists the same units: what A sold is gone for B too.
    short = c.post("/v1/orders", json={"shop": "B", "sku": "S", "quantity": 4}, headers=op)
    assert short.status_code == 409 and short.json()["detail"]["available"] == 3
    rows = {(r["shop"], r["sku"]): r for r in c.get("/v1/published", headers=op).json()}
    assert rows[("B", "S")]["shared"] == 3


def test_an_order_sent_again_with_its_key_is_taken_once(env: Env) -> None:
    c, op = env.client, env.operator
    publish(env, setup_plan(env), "k1")
    cell = next(p for p in c.get("/v1/published", headers=op).json() if p["quantity"] > 1)
    order = {"shop": cell["shop"], "sku": cell["sku"], "quantity": 1}
    keyed = {"Idempotency-Key": "order-7", **op}
    first = c.post("/v1/orders", json=order, headers=keyed)
    assert first.status_code == 200, first.text
    again = c.post("/v1/orders", json=order, headers=keyed)  # a retry after a lost answer
    assert again.status_code == 200 and again.json() == first.json()
    left = {(p["shop"], p["sku"]): p["quantity"] for p in c.get("/v1/published", headers=op).json()}
    assert left[(cell["shop"], cell["sku"])] == cell["quantity"] - 1, "taken once"

    other = c.post("/v1/orders", json={**order, "quantity": 2}, headers=keyed)
    assert other.status_code == 409
    assert other.json()["detail"]["header"] == "Idempotency-Key"
    assert other.json()["detail"]["key"] == "order-7" and "plan_id" not in other.json()["detail"]
    assert "order" in other.json()["detail"]["message"]
    empty = c.post("/v1/orders", json=order, headers={"Idempotency-Key": "", **op})
    assert empty.status_code == 422


def test_a_quantity_is_a_json_integer(env: Env) -> None:
    c, op = env.client, env.operator
    publish(env, setup_plan(env), "k1")
    before = c.get("/v1/published", headers=op).json()
    for quantity in (True, "1", 1.0, "one", None):
        response = c.post(
            "/v1/orders", json={"shop": "A", "sku": "S", "quantity": quantity}, headers=op
        )
        assert response.status_code == 422, (quantity, response.text)
        assert [d["path"] for d in response.json()["detail"]] == ["body.quantity"]
    assert c.get("/v1/published", headers=op).json() == before, "nothing taken"
