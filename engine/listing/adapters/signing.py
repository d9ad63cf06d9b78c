"""Request signatures as the platforms compute them. The secret never travels: both ends
hash the sorted parameters with it, and a mismatch is the platform's auth error.

TOP (Taobao/Tmall), JD and Pinduoduo: every parameter but the signature, sorted by name,
written name-then-value with no separators, wrapped in the secret, hashed (md5, or
HMAC-MD5 keyed by the secret on TOP), upper-case hex. Douyin signs only its five common
parameters, the business parameters being one canonical JSON text (keys sorted, no
spaces), with md5 or HMAC-SHA256.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_params", "douyin_sign", "sorted_params_sign", "verify"]


def _concat(params: Mapping[str, str]) -> str:
    return "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign")


def sorted_params_sign(params: Mapping[str, str], secret: str, method: str = "md5") -> str:
    """TOP, JD and Pinduoduo: md5(secret + k1v1k2v2... + secret), or HMAC-MD5 (TOP)."""
    text = _concat(params)
    if method == "hmac":
        digest = hmac.new(secret.encode(), text.encode(), hashlib.md5).hexdigest()
    else:
        digest = hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest()
    return digest.upper()


def canonical_params(doc: Mapping[str, Any]) -> str:
    """Douyin's param_json: keys sorted at every level, no spaces, UTF-8 kept."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def douyin_sign(
    app_key: str, method: str, param_json: str, timestamp: str, secret: str, sign_method: str
) -> str:
    """Douyin: secret-wrapped app_key, method, param_json, timestamp and v, hashed."""
    text = f"app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v2"
    wrapped = f"{secret}{text}{secret}".encode()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), wrapped, hashlib.sha256).hexdigest()
    return hashlib.md5(wrapped).hexdigest()


def verify(given: str, expected: str) -> bool:
    """Compared in constant time (a signature check must not leak by timing)."""
    return hmac.compare_digest(given.upper(), expected.upper())
