"""Typed errors of the relational database: the API maps each to one status (503 with
Retry-After for an unavailable database, 404 NotFound, 409 Conflict) and the CLI to exit
code 2 with one line; none shows a traceback or a password."""

from __future__ import annotations

from engine.core.errors import OmnistockError


class DatabaseError(OmnistockError):
    """Base of every error the database layer raises on purpose."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be used: a URL that does not parse, a driver that is missing,
    a server that does not answer or refuses the login, or a lock held too long.
    `url` never holds the password."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"database {url} is not available: {reason}")


class NotFound(DatabaseError):
    """A record that does not exist: `what` names its kind, `key` which one."""

    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key} not found")


class Conflict(DatabaseError):
    """A write that lost a race: another transaction wrote the same record (the same
    next version, the same SKU code) first. Nothing of the losing write was kept; the
    same call again works from the winner's state."""


class MigrationFailed(DatabaseError):
    """A schema migration that could not be applied (nothing of it was kept), or a
    database at a revision this version of omnistock does not know."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"database {url} cannot be migrated: {reason}")
