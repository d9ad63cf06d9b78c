"""The role matrix: every role x action x (own / other tenant) x (own brand / other
brand / the whole tenant) against authorize(), from the table the issue states."""

from __future__ import annotations

import itertools

import pytest

from engine.access.errors import Forbidden
from engine.access.roles import ACTIONS, Action, Principal, Role, authorize

OWN_BRAND, OTHER_BRAND = "b1", "b2"

# Within its own tenant, the only (role, action, brand) a key may do; nothing else,
# and nothing at all in another tenant.
ALLOWED: set[tuple[Role, Action, str | None]] = {
    *((Role.OPERATOR, a, b) for a in ("read", "write") for b in (OWN_BRAND, OTHER_BRAND, None)),
    (Role.BRAND_VIEWER, "read", OWN_BRAND),
    *(
        (Role.ADMIN, a, b)
        for a in ("manage_keys", "read_audit")
        for b in (OWN_BRAND, OTHER_BRAND, None)
    ),
}


def _principal(role: Role) -> Principal:
    return Principal("0123456789ab", "acme", role, OWN_BRAND if role == "brand_viewer" else None)


CASES = list(itertools.product(Role, ACTIONS, ("acme", "globex"), (OWN_BRAND, OTHER_BRAND, None)))


@pytest.mark.parametrize(("role", "action", "tenant", "brand"), CASES)
def test_role_matrix(role: Role, action: Action, tenant: str, brand: str | None) -> None:
    principal = _principal(role)
    if tenant == "acme" and (role, action, brand) in ALLOWED:
        authorize(principal, action, tenant, brand)
        return
    with pytest.raises(Forbidden) as caught:
        authorize(principal, action, tenant, brand)
    refused = caught.value
    assert (refused.key_id, refused.role, refused.action) == ("0123456789ab", role, action)
    assert (refused.tenant, refused.brand) == (tenant, brand)
    assert f"may not {action} tenant '{tenant}'" in str(refused)
    if brand is not None:
        assert f"brand '{brand}'" in str(refused)


def test_the_matrix_covers_every_combination() -> None:
    assert len(CASES) == 3 * 4 * 2 * 3
    assert sum(1 for r, a, t, b in CASES if t == "acme" and (r, a, b) in ALLOWED) == 13


def test_reasons_say_what_stopped_the_key() -> None:
    viewer = _principal(Role.BRAND_VIEWER)
    with pytest.raises(Forbidden, match="belongs to tenant 'acme'"):
        authorize(viewer, "read", "globex", OWN_BRAND)
    with pytest.raises(Forbidden, match="role brand_viewer may only read"):
        authorize(viewer, "write", "acme", OWN_BRAND)
    with pytest.raises(Forbidden, match="limited to brand 'b1', not the whole tenant"):
        authorize(viewer, "read", "acme", None)
    with pytest.raises(Forbidden, match="role admin may only manage_keys or read_audit"):
        authorize(_principal(Role.ADMIN), "read", "acme", None)


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        authorize(_principal(Role.OPERATOR), "delete", "acme", None)  # type: ignore[arg-type]
