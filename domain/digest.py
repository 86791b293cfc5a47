"""The one canonical JSON and its SHA-256: how a body is fingerprinted wherever one is compared.

Registrations (the same dossier sent twice), commands (a repeated event), national-portal syncs, list
cursors and idempotency keys all hash the JSON form below. It is in running workflows' state and in the
database: changing it makes a repeat look like another body, so it never changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """`value` as JSON with sorted keys, non-ASCII kept, anything else (datetimes) as `str()`."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def digest(value: Any) -> str:
    """Hex SHA-256 of `canonical_json(value)`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()
