"""Dependencies the routes declare, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.access.errors import Unauthenticated
from engine.access.repository import KeyRepository
from engine.access.roles import Principal
from engine.core.settings import Settings
from engine.jobs.base import JobQueue
from engine.services.planning import StoreRegistry
from engine.store.base import Store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_key_repository(request: Request) -> KeyRepository:
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
    """The holder of the request's key; Unauthenticated (401) without a valid one.
    Routes then call `authorize(principal, action, tenant, brand)` (403 if refused)."""
    if credentials is None:
        raise Unauthenticated("send the header Authorization: Bearer <key>")
    principal = keys.authenticate(credentials.credentials)
    request.state.tenant = principal.tenant  # for the request's log line
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_store(request: Request, principal: PrincipalDep) -> Store:
    """The state store of the key's tenant (never another tenant's)."""
    stores: StoreRegistry = request.app.state.stores
    return stores.get(principal.tenant)


StoreDep = Annotated[Store, Depends(get_store)]


def get_jobs(request: Request) -> JobQueue:
    jobs: JobQueue = request.app.state.jobs
    return jobs


JobsDep = Annotated[JobQueue, Depends(get_jobs)]
