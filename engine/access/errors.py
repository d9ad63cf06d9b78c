"""Typed errors of access control; the API maps them to 401, 403 and 404."""

from __future__ import annotations

from engine.core.errors import InputError, Issue, OmnistockError


class AccessError(OmnistockError):
    """Base of the access errors."""


class Unauthenticated(AccessError):
    """No key, a malformed key, an unknown or wrong key, or a revoked one."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not authenticated: {reason}")


class Forbidden(AccessError):
    """A valid key whose role, tenant or brand does not allow the action."""

    def __init__(
        self, key_id: str, role: str, action: str, tenant: str, brand: str | None, reason: str
    ) -> None:
        self.key_id = key_id
        self.role = role
        self.action = action
        self.tenant = tenant
        self.brand = brand
        self.reason = reason
        target = f"tenant {tenant!r}" + (f", brand {brand!r}" if brand is not None else "")
        super().__init__(f"key {key_id} ({role}) may not {action} {target}: {reason}")


class UnknownKey(AccessError):
    """A key id that no stored key has."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(f"no key with id {key_id!r}")


class KeyFileUnavailable(InputError):
    """The key file is missing, unreadable or not a key file, so no key can be checked.
    The CLI names the file and what is wrong (exit 2, as for any bad input); the API
    answers 503 on every keyed route and on /readyz, and names the file in its log only:
    a server's paths are not a caller's business."""

    def __init__(self, path: str, issues: list[Issue], missing: bool = False) -> None:
        self.path = path
        self.missing = missing  # there is no file at all (no key was ever made)
        super().__init__(issues, path)


class RateLimited(AccessError):
    """A key that has used up its requests for now: it may try again after
    `retry_after_s` seconds."""

    def __init__(self, key_id: str, retry_after_s: int, limit: str) -> None:
        self.key_id = key_id
        self.retry_after_s = retry_after_s
        self.limit = limit
        super().__init__(
            f"key {key_id} is over its rate limit ({limit}); retry in {retry_after_s} s"
        )
