"""Models of the ruleset routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel

from api.schemas.common import Document, SchemaOf
from rules.catalog import Ruleset

_RULESET_EXAMPLE: dict[str, Any] = {
    "rules": [{"id": "r-safety", "type": "safety_stock", "quantity": 2}]
}
RulesetBody = Annotated[Document, SchemaOf(Ruleset), Body(examples=[_RULESET_EXAMPLE])]


class RulesetVersion(BaseModel):
    version: int


class StoredRuleset(BaseModel):
    version: int
    ruleset: dict[str, Any]


class RulesetCheck(BaseModel):
    valid: bool
    rules: int
