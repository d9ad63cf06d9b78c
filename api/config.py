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
    # POST /v1/plans answers at once up to this many (SKU, shop) cells; above, it starts
    # a job (202 with the job's URL). The demo's 16,900 cells plan in about 1.5 s.
    sync_plan_max_cells: int = 50_000
    # Processes of the local job pool (the embedded default; with Redis, `omnistock
    # worker` processes run the jobs instead).
    job_workers: int = 1
    # A plan job's solver time limit (it holds no request open, so it may search longer).
    job_solver_time_limit_s: float = 300.0
    # A job running longer than this is stopped and failed.
    job_timeout_s: int = 3600
    # Each API worker hears mode switches from the store's broadcast; it re-reads the
    # mode after this many seconds in case a broadcast was lost.
    mode_max_age_s: float = 5.0
