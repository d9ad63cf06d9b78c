"""The plan of interchange format v1 (docs/design.md), with the v1 extensions that let
`omnistock explain` answer from the plan alone (documented there too):

- allocations[].target / lb / ub: the soft target and hard bounds the rules set;
- skus[]: each SKU's pool derivation (sellable, reserves, virtual units, pool);
- solver_parts: which backend solved which part of the plan; a part solved by
  relaxation and repair also states `bound` (the LP bound, on the objective's scale)
  and `gap` (its proven relative gap), omitted where the part is solved exactly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Allocation(_Strict):
    sku: str
    shop: str
    quantity: int = Field(ge=0)
    shared: int = Field(ge=0)
    binding: list[str]
    listed: bool
    target: int = Field(ge=0)
    lb: int = Field(ge=0)
    ub: int = Field(ge=0)


class Unallocated(_Strict):
    sku: str
    quantity: int = Field(ge=0)
    reason: str


class PlanWarning(_Strict):
    code: str
    rule: str | None = None
    message: str


class SkuPool(_Strict):
    sku: str
    sellable: int
    reserved: dict[str, int]
    virtual: int
    pool: int
    share_rule: str | None


class Kpis(_Strict):
    units_allocated: int
    units_pool: int
    utilisation: float
    units_shared: int
    units_unallocated: int
    skus: int
    shops: int
    cells: int


class SolverPart(_Strict):
    backend: str
    skus: int
    cells: int
    objective: int
    notes: list[str] = []
    # Only parts solved by relaxation and repair have these (proven: objective >= bound,
    # gap = (objective - bound) / max(|bound|, 1)); exact parts leave them out, so
    # their plans stay byte for byte what they were.
    bound: int | None = None
    gap: float | None = None

    @model_serializer(mode="wrap")
    def _leave_out_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        for key in ("bound", "gap"):
            if out.get(key) is None:
                out.pop(key, None)
        return out


class Plan(_Strict):
    plan_id: str
    input_hash: str
    mode: str
    solver: str
    timing: dict[str, float]
    allocations: list[Allocation]
    unallocated: list[Unallocated]
    warnings: list[PlanWarning]
    kpis: Kpis
    skus: list[SkuPool] = []
    solver_parts: list[SolverPart] = []
