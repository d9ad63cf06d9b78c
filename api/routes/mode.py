"""The tenant's planning mode: normal, or peak (Double-11) optionally scheduled."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import StoreDep, TenantReader, Writer
from api.errors import JsonRoute
from api.schemas.errors import KEYED, WITH_BODY, responses
from api.schemas.mode import ModeOut, ModeRequest
from engine.services import mode_switch

router = APIRouter(route_class=JsonRoute, tags=["mode"])


@router.get("/mode", operation_id="get-mode", response_model=ModeOut, responses=responses(KEYED))
def get_mode(reader: TenantReader, store: StoreDep) -> dict[str, Any]:
    """The tenant's mode, and the one in force now (a scheduled peak only in its window)."""
    return mode_switch.get_mode(store)


@router.put(
    "/mode",
    operation_id="put-mode",
    response_model=ModeOut,
    responses=responses(KEYED, WITH_BODY),
)
def put_mode(body: ModeRequest, writer: Writer, store: StoreDep) -> dict[str, Any]:
    """Switch to normal or peak (Double-11), optionally between `start` and `end`; every
    worker sharing the store sees it at once."""
    return mode_switch.put_mode(store, body.model_dump())
