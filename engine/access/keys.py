"""API keys: `osk_<key id>_<secret>`, made once, stored only as a salted hash.

The key id is a short public prefix: it names the key in listings and logs and finds
its record without a scan; the secret never leaves `new_key`'s return value. A record
holds an HMAC-SHA256 of the whole key under a per-key random salt. The secret is 256
random bits, so a slow password hash (scrypt) would add nothing against guessing and
would cost every request milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from engine.access.errors import Unauthenticated
from engine.access.roles import BRAND_BOUND, Principal, Role
from engine.core.io import parse_document
from engine.core.snapshot import Id

KEY_PREFIX = "osk_"
_KEY_ID = re.compile(r"[0-9a-f]{12}")


class KeyRecord(BaseModel):
    """What is stored of a key: who holds it and a hash, never the key itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str
    tenant: Id
    role: Role
    brand: Id | None = None
    created_at: datetime
    revoked_at: datetime | None = None
    salt: str  # hex
    digest: str  # hex HMAC-SHA256(salt, key)

    @field_validator("key_id")
    @classmethod
    def _key_id_shape(cls, value: str) -> str:
        if not _KEY_ID.fullmatch(value):
            raise ValueError("must be 12 lowercase hex digits")
        return value

    @field_validator("brand")
    @classmethod
    def _brand_for_role(cls, brand: str | None, info: ValidationInfo) -> str | None:
        role = info.data.get("role")  # absent when the role itself was invalid
        if role in BRAND_BOUND and brand is None:
            raise PydanticCustomError("brand_required", "required for role {role}", {"role": role})
        if role is not None and role not in BRAND_BOUND and brand is not None:
            bound = " or ".join(sorted(BRAND_BOUND))
            raise PydanticCustomError("brand_refused", f"only a {bound} key has a brand")
        return brand

    @property
    def principal(self) -> Principal:
        return Principal(self.key_id, self.tenant, self.role, self.brand)

    def matches(self, key: str) -> bool:
        """True if `key` is the key this record was made from (constant time)."""
        return hmac.compare_digest(_digest(bytes.fromhex(self.salt), key), self.digest)


def _digest(salt: bytes, key: str) -> str:
    return hmac.new(salt, key.encode("utf-8"), hashlib.sha256).hexdigest()


def new_key(
    tenant: str, role: str, brand: str | None = None, now: datetime | None = None
) -> tuple[str, KeyRecord]:
    """A fresh key and its record; an InputError naming `tenant`, `role` or `brand`
    when they do not fit together (a brand_viewer needs a brand, no other role has one)."""
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_bytes(16)
    fields: dict[str, Any] = {
        "key_id": key_id,
        "tenant": tenant,
        "role": role,
        "brand": brand,
        "created_at": now or datetime.now(UTC),
        "salt": salt.hex(),
        "digest": _digest(salt, key),
    }
    return key, parse_document(KeyRecord, fields)


def key_id_of(key: str) -> str:
    """The public id inside a key, or Unauthenticated if the key is not of our shape."""
    head, _, rest = key.partition(KEY_PREFIX)
    key_id, sep, secret = rest.partition("_")
    if head or not sep or not secret or not _KEY_ID.fullmatch(key_id):
        raise Unauthenticated(f"malformed key: expected {KEY_PREFIX}<id>_<secret>")
    return key_id
