"""The tenant's rulesets: stored as versions, read back, validated without storing."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import StoreDep, TenantReader, Writer
from api.errors import JsonRoute
from api.schemas.errors import KEYED, NOT_FOUND, WITH_BODY, responses
from api.schemas.rulesets import RulesetBody, RulesetCheck, RulesetVersion, StoredRuleset
from engine.services import rulesets

router = APIRouter(route_class=JsonRoute, tags=["planning"])


@router.put(
    "/ruleset",
    operation_id="put-ruleset",
    response_model=RulesetVersion,
    responses=responses(KEYED, WITH_BODY),
)
def put_ruleset(body: RulesetBody, writer: Writer, store: StoreDep) -> RulesetVersion:
    """Store a new ruleset version, checked against the current snapshot."""
    return RulesetVersion(version=rulesets.put_ruleset(store, body))


@router.get(
    "/ruleset",
    operation_id="get-ruleset",
    response_model=StoredRuleset,
    responses=responses(KEYED, NOT_FOUND),
)
def get_ruleset(reader: TenantReader, store: StoreDep) -> StoredRuleset:
    """The latest ruleset and its version."""
    version, ruleset = rulesets.get_ruleset(store)
    return StoredRuleset(version=version, ruleset=ruleset)


@router.post(
    "/ruleset/validate",
    operation_id="validate-ruleset",
    response_model=RulesetCheck,
    responses=responses(KEYED, WITH_BODY),
)
def validate_ruleset(body: RulesetBody, writer: Writer, store: StoreDep) -> RulesetCheck:
    """Check a ruleset as PUT /v1/ruleset would, without storing it."""
    return RulesetCheck(valid=True, rules=rulesets.validate_ruleset(store, body))
