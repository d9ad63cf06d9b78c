"""Dependencies the routes declare, as Annotated aliases: the settings, the job queue,
the caller's tenant's store, and who the caller is with what the route needs of its
key (the FastAPI way: each route names its permission in its signature).

- `Writer`: may change the tenant's data (operators);
- `Reader`: may read the tenant's data as far as its brand reaches (operators the whole
  tenant, a brand viewer its brand: `reader.brand` is the scope to cut reads to);
- `TenantReader`: may read tenant-wide documents (the ruleset, the mode, scenario runs),
  which no brand-scoped key sees;
- `Auditor`: may read the tenant's audit log (admins).

A missing or invalid key is 401 (Unauthenticated), a key that may not is 403 (Forbidden),
a key over its rate limit 429 (RateLimited); a key file that cannot be read is 503.
Every request that asks for `Writer` is audited (api/observe.py), refused ones too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.access.errors import Unauthenticated
from engine.access.rate_limit import RateLimiter
from engine.access.repository import KeyRepository
from engine.access.roles import Action, Principal, authorize
from engine.core.settings import Settings
from engine.jobs.base import JobQueue
from engine.services.stores import StoreRegistry
from engine.store.base import Store


# Dependencies that only read the app's state are `async def`: FastAPI runs a plain `def`
# dependency in its thread pool, a hand-off that waits for the GIL while a plan is made
# on another thread (up to the interpreter's 5 ms switch interval each). Those that may
# touch Redis or a file (the key's rate limit, a tenant's store) stay plain `def`.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_key_repository(request: Request) -> KeyRepository:
    keys: KeyRepository = request.app.state.keys
    return keys


KeyRepositoryDep = Annotated[KeyRepository, Depends(get_key_repository)]

# auto_error off: a missing or non-Bearer header is our 401 with our body, not FastAPI's.
_bearer = HTTPBearer(auto_error=False, description="an omnistock API key (`omnistock keys create`)")


def get_principal(
    request: Request,
    keys: KeyRepositoryDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The holder of the request's key; Unauthenticated (401) without a valid one,
    RateLimited (429) when the key has sent too many requests of late."""
    if credentials is None:
        raise Unauthenticated("send the header Authorization: Bearer <key>")
    principal = keys.authenticate(credentials.credentials)
    request.state.tenant = principal.tenant  # for the request's log line
    request.state.principal = principal  # for the audit log
    limiter: RateLimiter = request.app.state.limiter
    limiter.hit(principal.key_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(
    action: Action, *, whole_tenant: bool
) -> Callable[[Request, Principal], Awaitable[Principal]]:
    """A dependency: the caller, if its key may do `action` on its own tenant's data -
    all of it (`whole_tenant`), or as far as the key's brand reaches."""

    async def check(request: Request, principal: PrincipalDep) -> Principal:
        if action == "write":
            request.state.audited = True  # a write, or an attempt at one: logged
        brand = None if whole_tenant else principal.brand
        authorize(principal, action, principal.tenant, brand)
        return principal

    return check


Writer = Annotated[Principal, Depends(require("write", whole_tenant=True))]
Reader = Annotated[Principal, Depends(require("read", whole_tenant=False))]
TenantReader = Annotated[Principal, Depends(require("read", whole_tenant=True))]
Auditor = Annotated[Principal, Depends(require("read_audit", whole_tenant=True))]


def get_store(request: Request, principal: PrincipalDep) -> Store:
    """The state store of the key's tenant (never another tenant's)."""
    stores: StoreRegistry = request.app.state.stores
    return stores.get(principal.tenant)


StoreDep = Annotated[Store, Depends(get_store)]


async def get_jobs(request: Request) -> JobQueue:
    jobs: JobQueue = request.app.state.jobs
    return jobs


JobsDep = Annotated[JobQueue, Depends(get_jobs)]
