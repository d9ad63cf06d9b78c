"""The two kinds of transaction every store on the relational database runs: a read,
and a write that takes SQLite's write lock at BEGIN. Both turn a database that cannot
be used now into DatabaseUnavailable (without the password); a write that lost a race
for a unique key is a Conflict naming what it wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from engine.db.connect import unavailable, writer
from engine.db.errors import Conflict

__all__ = ["reading", "writing"]


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    try:
        with Session(engine) as session, session.begin():
            yield session
    except (OperationalError, InterfaceError) as error:
        raise unavailable(engine, error) from None


@contextmanager
def writing(engine: Engine, what: str) -> Iterator[Session]:
    """One write transaction: all of it or none of it."""
    try:
        with Session(writer(engine)) as session, session.begin():
            yield session
    except IntegrityError:
        raise Conflict(f"{what} was changed meanwhile, retry") from None
    except (OperationalError, InterfaceError) as error:
        raise unavailable(engine, error) from None
