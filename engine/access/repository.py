"""Where key records live: one small interface, in memory or in a JSON file.

A store implements three methods (`get`, `save`, `all_records`); creating, checking,
listing and revoking keys are written once here on top of them, so every store
behaves the same. The JSON file is the CLI's and the embedded service's store; its
path is `Settings.keys_file` (OMNISTOCK_KEYS_FILE; default .omnistock/keys.json here).

A key file that cannot be used (unreadable, not UTF-8, not JSON, not a key file) is a
KeyFileUnavailable; so is a missing one when a key is checked or the service asks
whether it is ready (no key file: nobody could be let in). Creating the first key
makes the file.
"""

from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from engine.access.errors import KeyFileUnavailable, Unauthenticated, UnknownKey
from engine.access.keys import KeyRecord, key_id_of, new_key
from engine.access.roles import Principal
from engine.core.errors import InputError, Issue
from engine.core.files import write_atomically
from engine.core.io import parse_document
from engine.core.settings import Settings


class KeyRepository(ABC):
    """Key records by key id. Records are only added or replaced, never deleted, so a
    revoked key stays listed with the time it was revoked."""

    @abstractmethod
    def get(self, key_id: str) -> KeyRecord | None:
        """The record with this id, or None."""

    @abstractmethod
    def save(self, record: KeyRecord) -> None:
        """Store the record, replacing one with the same key id."""

    @abstractmethod
    def all_records(self) -> list[KeyRecord]:
        """Every record, in the order they were first saved."""

    def create(self, tenant: str, role: str, brand: str | None = None) -> tuple[str, KeyRecord]:
        """Make, store and return a new key (the only time it is ever seen) and its record."""
        key, record = new_key(tenant, role, brand)
        while self.get(record.key_id) is not None:  # 48-bit ids: a clash is a freak event
            key, record = new_key(tenant, role, brand)
        self.save(record)
        return key, record

    def ready(self) -> None:  # noqa: B027 - records in memory are always ready
        """Return if keys can be checked; KeyFileUnavailable (or the like) if not."""

    def _find(self, key_id: str) -> KeyRecord | None:
        """The record a key is checked against (`get`, unless checking needs more)."""
        return self.get(key_id)

    def authenticate(self, key: str) -> Principal:
        """The holder of `key`, or Unauthenticated saying why not."""
        key_id = key_id_of(key)
        record = self._find(key_id)
        if record is None or not record.matches(key):
            raise Unauthenticated("invalid key")
        if record.revoked_at is not None:
            raise Unauthenticated(f"key {key_id} was revoked at {record.revoked_at.isoformat()}")
        return record.principal

    def revoke(self, key_id: str) -> KeyRecord:
        """Revoke a key from now on (again is a no-op); UnknownKey if there is none."""
        record = self.get(key_id)
        if record is None:
            raise UnknownKey(key_id)
        if record.revoked_at is None:
            record = record.model_copy(update={"revoked_at": datetime.now(UTC)})
            self.save(record)
        return record

    def list_keys(self, tenant: str | None = None) -> list[KeyRecord]:
        """Every record, or those of one tenant."""
        return [r for r in self.all_records() if tenant is None or r.tenant == tenant]


class InMemoryKeyRepository(KeyRepository):
    """Records in a dict: for tests and a throwaway embedded service."""

    def __init__(self) -> None:
        self._records: dict[str, KeyRecord] = {}
        self._lock = threading.Lock()

    def get(self, key_id: str) -> KeyRecord | None:
        return self._records.get(key_id)

    def save(self, record: KeyRecord) -> None:
        with self._lock:
            self._records[record.key_id] = record

    def all_records(self) -> list[KeyRecord]:
        return list(self._records.values())


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyRecord]


class JsonFileKeyRepository(KeyRepository):
    """Records in one JSON file, read on every call so that a key revoked from the CLI
    is refused at once by a running service; written whole to a temporary file in the
    same directory and moved into place, so a reader never sees half a file.

    Writers in one process are serialised; two processes writing at the same moment
    may lose one update (the CLI is the only writer today)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self, missing_ok: bool = True) -> dict[str, KeyRecord]:
        def unusable(path: str, message: str, missing: bool = False) -> KeyFileUnavailable:
            return KeyFileUnavailable(str(self.path), [Issue(path, message)], missing)

        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            if missing_ok:
                return {}
            message = "no key file: create a key with `omnistock keys create`"
            raise unusable("", message, missing=True) from None
        except OSError as err:  # a directory, no permission, an I/O error
            raise unusable("", f"cannot read: {err.strerror or err}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise unusable("", f"not UTF-8 text (byte {err.start})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise unusable(f"line {err.lineno}", f"not JSON: {err.msg}") from None
        try:
            keys = parse_document(_KeyFile, data, str(self.path)).keys
        except InputError as err:
            raise KeyFileUnavailable(str(self.path), err.issues) from None
        return {r.key_id: r for r in keys}

    def _write(self, records: dict[str, KeyRecord]) -> None:
        # Owner-only (write_atomically's temp file): no secrets, but who holds which key.
        text = _KeyFile(keys=list(records.values())).model_dump_json(indent=2) + "\n"
        write_atomically(self.path, text)

    def get(self, key_id: str) -> KeyRecord | None:
        return self._read().get(key_id)

    def ready(self) -> None:
        self._read(missing_ok=False)

    def _find(self, key_id: str) -> KeyRecord | None:
        return self._read(missing_ok=False).get(key_id)

    def save(self, record: KeyRecord) -> None:
        with self._lock:
            records = self._read()
            records[record.key_id] = record
            self._write(records)

    def all_records(self) -> list[KeyRecord]:
        return list(self._read().values())


def key_repository(settings: Settings) -> KeyRepository:
    """The deployment's key repository: the key file `settings.keys_file`."""
    return JsonFileKeyRepository(settings.keys_file)
