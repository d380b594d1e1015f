"""Canonical JSON and digests.

The same logical value always produces the same bytes, so a digest binds an approval to exactly
one action. The canonical form is what ``json.dumps`` writes with:

* object keys sorted by Unicode code point, no insignificant whitespace (``,`` and ``:``),
* strings as UTF-8 with only the escapes JSON requires (no ``\\uXXXX`` for non-ASCII),
* integers in decimal, floats in Python's shortest round-trip form (``1.5``, ``1e+16``),
  ``NaN`` and infinities refused,
* ``true``, ``false``, ``null``.

A digest is ``"sha256:"`` followed by the lowercase hex SHA-256 of those bytes::

    >>> digest({"b": 1, "a": [True, None]})
    'sha256:...'
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from watchkeeper.errors import UsageError

_quote = json.encoder.encode_basestring  # the C implementation when available
_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> bytes:
    """Return the canonical JSON bytes of ``value``; raise ``UsageError`` if it is not JSON."""
    try:
        return _encoder.encode(value).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise UsageError(
            f"value is not canonical JSON ({exc}); use only objects with string keys, "
            "lists, strings, finite numbers, booleans and null"
        ) from exc


def canonical_text(value: str | None) -> bytes:
    """Canonical JSON of a string or null: the same bytes as :func:`canonical_json`, faster."""
    if value is None:
        return b"null"
    return _quote(value).encode("utf-8")


def digest_bytes(data: bytes) -> str:
    """``sha256:<hex>`` of raw bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return digest_bytes(canonical_json(value))
