"""A sandbox marketplace: the five platforms' listing calls, played in memory, for tests,
the demo and the benchmark (`omnistock sandbox serve`). It validates payloads with the
catalog's own platform schemas, keeps what it accepted, reviews it, enforces call limits
and fails on purpose when told to."""

from engine.listing.sandbox.app import create_sandbox_app
from engine.listing.sandbox.config import SandboxConfig, load_config, parse_config

__all__ = ["SandboxConfig", "create_sandbox_app", "load_config", "parse_config"]
