"""What each role may do, as data, and the one check every route makes: `authorize`.

- operator: reads and writes everything of its tenant (every brand);
- brand_viewer: reads one brand of its tenant, writes nothing;
- admin: manages the keys of its tenant and reads its audit log, and nothing else
  (least privilege: an admin key in a script cannot change stock or plans).

No role crosses tenants.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from engine.access.errors import Forbidden

Action = Literal["read", "write", "manage_keys", "read_audit"]
ACTIONS: tuple[Action, ...] = get_args(Action)


class Role(StrEnum):
    OPERATOR = "operator"
    BRAND_VIEWER = "brand_viewer"
    ADMIN = "admin"


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.OPERATOR: frozenset({"read", "write"}),
    Role.BRAND_VIEWER: frozenset({"read"}),
    Role.ADMIN: frozenset({"manage_keys", "read_audit"}),
}

# Roles whose keys are bound to one brand; every other role's key has none.
BRAND_BOUND = frozenset({Role.BRAND_VIEWER})


@dataclass(frozen=True)
class Principal:
    """Who is asking: the holder of one valid key."""

    key_id: str
    tenant: str
    role: Role
    brand: str | None = None


def authorize(principal: Principal, action: Action, tenant: str, brand: str | None) -> None:
    """Return if `principal` may do `action` on `tenant`'s data (of `brand`, or of the
    whole tenant when `brand` is None); raise Forbidden naming what was refused."""

    def refuse(reason: str) -> Forbidden:
        return Forbidden(principal.key_id, principal.role, action, tenant, brand, reason)

    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    if principal.tenant != tenant:
        raise refuse(f"the key belongs to tenant {principal.tenant!r}")
    allowed = PERMISSIONS[principal.role]
    if action not in allowed:
        raise refuse(f"role {principal.role} may only {' or '.join(sorted(allowed))}")
    if principal.role in BRAND_BOUND:
        if brand is None:
            raise refuse(f"the key is limited to brand {principal.brand!r}, not the whole tenant")
        if brand != principal.brand:
            raise refuse(f"the key is limited to brand {principal.brand!r}")
