"""Service settings, read once from the environment (OMNISTOCK_*)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNISTOCK_", extra="ignore")

    title: str = "omnistock"
    # A request's solve never holds a worker longer than this.
    solver_time_limit_s: float = 30.0
    # A request body above this many bytes is refused with 413 before it is read whole.
    max_body_bytes: int = 20 * 1024 * 1024
    # `omnistock serve --demo`: the tenant "demo" starts with the demo snapshot and rules.
    demo: bool = False
