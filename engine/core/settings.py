"""Every setting of omnistock in one place: each `OMNISTOCK_*` environment variable is a
field here, read once when a process starts (`Settings()` in the CLI, `omnistock serve`,
`omnistock worker`) and passed down from there. No other module reads the environment.

A field's environment variable is its name in upper case behind `OMNISTOCK_`:
`redis_url` is `OMNISTOCK_REDIS_URL`, `keys_file` is `OMNISTOCK_KEYS_FILE`, and so on.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_KEYS_FILE = Path(".omnistock") / "keys.json"
# `omnistock serve`'s state file, beside the key file, when no state path is set.
STATE_FILE_NAME = "state.db"
# The relational database (catalog, listing, settlement) when no URL is set: a SQLite
# file beside the key file.
DATABASE_FILE_NAME = "omnistock.db"
# Where a Redis store connects when it is given no URL (tests, local tools).
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNISTOCK_", extra="ignore")

    # --- where state lives -----------------------------------------------------------
    # Set: state, locks, mode broadcasts and the job queue (RQ) live in this Redis, shared
    # by every API worker and `omnistock worker`. Unset: the embedded default (one
    # process's memory, a local job pool).
    redis_url: str | None = None
    # The API keys (stored hashed); `omnistock keys` edits this file.
    keys_file: Path = DEFAULT_KEYS_FILE
    # Without Redis: the SQLite file that keeps every tenant's state (durable, synced at
    # each change). Unset: `omnistock serve` keeps it beside the key file
    # (STATE_FILE_NAME); a bare app (tests, `uvicorn --factory`) keeps state in memory.
    state_path: Path | None = None
    # The relational database (SQLAlchemy URL) of the catalog and the modules after it:
    # `postgresql+psycopg://user@host/db` in production. Unset: a SQLite file beside the
    # key file (DATABASE_FILE_NAME), so a newcomer needs no server.
    database_url: str | None = None
    # `omnistock serve` applies the database migrations at start (`omnistock db upgrade`
    # does it by hand); False when a deploy step runs them once for every server.
    migrate_at_start: bool = True

    # --- marketplaces ----------------------------------------------------------------
    # The marketplace accounts file (engine/listing/accounts.py): each shop's app key,
    # secret, access token and call limits. Unset: no shop may be listed on a platform.
    marketplaces_file: Path | None = None
    # A resumed listing job waits this long after the dead run's last sign of life: the
    # longest a platform may still carry out a call whose caller gave up or died.
    listing_settle_s: float = 30.0

    # --- the HTTP service ------------------------------------------------------------
    title: str = "omnistock"
    # A request's solve never holds a worker longer than this.
    solver_time_limit_s: float = 30.0
    # A request body above this many bytes is refused with 413 before it is read whole.
    max_body_bytes: int = 20 * 1024 * 1024
    # A settlement upload (POST /v1/settlements) above this many bytes per file is refused
    # with 413 naming the file (a month's exports run to hundreds of megabytes: the whole
    # request must also fit in max_body_bytes).
    settlement_max_upload_bytes: int = 256 * 1024 * 1024
    # `omnistock serve --demo`: the tenant "demo" starts with the demo snapshot and rules.
    demo: bool = False
    # POST /v1/plans answers at once up to this many (SKU, shop) cells; above, it starts
    # a job (202 with the job's URL). The demo's 16,900 cells plan in about 0.2 s.
    sync_plan_max_cells: int = 50_000
    # Plans a worker computes at once; more requests wait their turn. Planning is CPU
    # work under one GIL: eight at once in one worker cost 118 ms of CPU a plan against
    # 68 ms one at a time (1,000 x 10), and finish no sooner.
    plans_at_once: int = Field(default=1, ge=1)
    # `omnistock serve --workers N`: a worker holding more than its fair share of the
    # open connections closes one after its answer, so the client is placed again and
    # the kernel's uneven hash of kept-alive clients evens out (api/placement.py).
    balance_connections: bool = True
    # Each API worker hears mode switches from the store's broadcast; it re-reads the
    # mode after this many seconds in case a broadcast was lost.
    mode_max_age_s: float = 5.0
    # Per API key: at most `rate_limit_burst` requests in any burst / rate seconds, so one
    # caller cannot hold the workers (429 with Retry-After past it); shared by every
    # worker on Redis. A rate of 0 turns the limit off.
    rate_limit_per_s: float = 100.0
    rate_limit_burst: int = 200
    # The shelf routes (/v1/rank, /v1/select): a ranking's solver stops after this many
    # seconds (503 saying so), and a shelf of more products x slots is refused up front
    # (422 naming the limit), so one request holds a worker for seconds, not minutes.
    shelf_time_limit_s: float = 10.0
    shelf_max_cells: int = 1_000_000

    # --- the operators' console (api/console/session.py) -------------------------------
    # A console session ends after this long without a request (an hour away from the
    # page), and this long after sign-in whatever happens (an operator's working day).
    console_idle_s: float = Field(default=3600.0, gt=0)
    console_lifetime_s: float = Field(default=12 * 3600.0, gt=0)

    # --- jobs ------------------------------------------------------------------------
    # Processes of the local job pool (the embedded default; with Redis, `omnistock
    # worker` processes run the jobs instead).
    job_workers: int = 1
    # A plan job's solver time limit (it holds no request open, so it may search longer).
    job_solver_time_limit_s: float = 300.0
    # A job running longer than this is stopped and failed.
    job_timeout_s: int = 3600

    # --- report delivery (engine/reports/delivery) -----------------------------------
    # The SMTP server reports are mailed through. Unset host: no report is mailed (the
    # chat robots still get theirs). Port 587 with STARTTLS is the submission port most
    # providers take; `smtp_ssl` is TLS from the first byte instead (port 465, as QQ Mail
    # and Alibaba Mail offer it). Without either, mail goes in clear: loopback relays only.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    # The CA bundle the server's certificate is checked against (a company CA); unset:
    # the system's. The certificate is always checked: a report holds a brand's sales.
    smtp_ca_file: Path | None = None
    # The login, if the server asks for one. The password is a SecretStr: it is never
    # printed, logged nor written to the delivery log or an error.
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    # The From: address, e.g. `omnistock <reports@agency.example>`.
    smtp_sender: str = "omnistock <reports@localhost>"
    # Each connection, command and reply waits at most this long: a server that stops
    # answering is a temporary failure, retried, not a worker held for ever.
    smtp_timeout_s: float = 30.0
    # A temporary failure (a 4xx reply, a connection refused, reset or timed out) is
    # tried again up to `delivery_attempts` times in all, waiting `delivery_backoff_s`,
    # then twice that, and so on, never more than `delivery_backoff_max_s` at once: the
    # fifth try comes 7.5 minutes after the first, past a greylisting server's usual 5.
    delivery_attempts: int = Field(default=5, ge=1)
    delivery_backoff_s: float = 30.0
    delivery_backoff_max_s: float = 600.0
    # Chat group robots (WeCom, DingTalk) take at most 20 messages a minute each; past
    # it DingTalk mutes a robot for ten minutes. A send past the limit waits its turn.
    chat_per_minute: int = Field(default=20, ge=1)
    chat_timeout_s: float = 10.0
    # A Chinese font file (.ttf, .otf or .ttc) for the reports' PDF and charts, where the
    # system has none fontconfig finds (Debian: fonts-noto-cjk). Unset: the system's.
    report_font: Path | None = None
    # A due schedule is fired by a tick every this many seconds (a report is due at the
    # earliest one after its window ends, on RQ's scheduler or the local pool's timer).
    report_tick_s: float = 60.0

    # --- the planner process (engine/runtime/allocator.py says why and what it costs) ---
    # False keeps glibc's allocator defaults (and small pages).
    malloc_tuning: bool = True
    # False leaves the heap on small pages (the thresholds are still raised).
    huge_pages: bool = True
    # `omnistock plan` reads the velocity and listed rows and works out the input hash in
    # forked children, on the other core (engine/core/aside.py): at 300,000 SKUs 1-1.5 s
    # less wall time, ~0.6 s more CPU and ~340 MiB more peak memory. False: all in the
    # process (where the second core is busy anyway, or memory is tight).
    fork_aside: bool = True

    def database(self) -> str:
        """The SQLAlchemy URL of the relational database (the SQLite default if unset)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.keys_file.parent / DATABASE_FILE_NAME}"


def child_environment(**values: str | None) -> dict[str, str]:
    """The environment for a child process (the listing benchmark's runs): this
    process's, with the given settings set (`database_url="..."` sets
    OMNISTOCK_DATABASE_URL) or, given None, unset."""
    env = dict(os.environ)
    for name, value in values.items():
        key = f"OMNISTOCK_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


# The BLAS libraries numpy links (OpenBLAS here) start a thread pool on the first large
# dot product, and its idle threads spin: on a shared 2-core machine they took turns from
# the planning processes (double11 --jobs 2: 24.7 s with the default pool, 9.5 s with one
# thread). The planner does no large dense algebra, so one thread costs nothing
# measurable. Set before numpy loads; a variable the caller set is kept (the opt-out).
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread() -> None:
    """Called by the console entry before numpy loads; helpers inherit it."""
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
