"""Secrets the app's database must keep readable for us only (the Zalo OA's tokens), sealed with the
payload keys (PAYLOAD_KEYS, docs/pii.md): AES-256-GCM, the key id and what the value is bound as
associated data, so a sealed value can be neither read nor moved to another column or another OA.

`sealed:v1:<key id>:<base64 of nonce + ciphertext>`. A value without the prefix was stored before keys were
configured: it reads as it is, and the next write seals it. Without keys (local runs) values are stored
as they are.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from settings import Settings

PREFIX = "sealed:v1:"
NONCE_BYTES = 12
_AAD = "dossier-tracker/db/v1:{key_id}:{purpose}"


class SealError(ValueError):
    """A sealed value under a key that is not configured, or that does not authenticate."""


class Sealer:
    """Seals with the active payload key; opens with whichever configured key a value names."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str | None) -> None:
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        return cls(settings.payload_keyring(), settings.payload_encryption_key_id)

    def seal(self, value: str, purpose: str) -> str:
        """`value` sealed for `purpose` (e.g. `zalo-refresh-token:<app id>`); as it is without keys."""
        if self.active_key_id is None:
            return value
        key_id = self.active_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, value.encode(), _aad(key_id, purpose))
        return f"{PREFIX}{key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, purpose: str) -> str:
        """The value `seal` sealed; a value stored before sealing reads as it is."""
        if not stored.startswith(PREFIX):
            return stored
        key_id, _, encoded = stored[len(PREFIX) :].partition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealError(f"sealed with payload key {key_id!r}, which is not configured")
        raw = base64.b64decode(encoded)
        try:
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(key_id, purpose)).decode()
        except InvalidTag:
            raise SealError(f"a value sealed with {key_id!r} does not authenticate as {purpose}") from None


def _aad(key_id: str, purpose: str) -> bytes:
    return _AAD.format(key_id=key_id, purpose=purpose).encode()
