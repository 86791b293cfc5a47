"""The payload codec: AES-256-GCM, so Temporal's database never holds an applicant's name or phone in clear.

Every payload (workflow input and result, update and signal arguments, activity arguments and results,
memo and UI summaries, failure messages) is serialized by the data converter, then encrypted here with
the active key. The key id travels in the payload's metadata and is bound to the ciphertext as
associated data, so a payload cannot be relabelled with another key's id. Every configured key still
decrypts: rotating means adding a new key, making it active, and keeping the old one until no history
that uses it is retained any more. Payloads without our encoding (stored before encryption was turned
on) pass through unchanged.

Runs outside the workflow sandbox (the SDK calls codecs in the worker and the client, never in
workflow code), so I/O-free but non-deterministic things like random nonces are fine here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
# Associated data: a payload encrypted for this project under key K decrypts only as key K's payload.
_AAD_PREFIX = b"dossier-tracker/payload/v1:"


class PayloadDecryptionError(ValueError):
    """A payload that names an unknown key, or whose ciphertext does not authenticate."""


class EncryptionCodec(PayloadCodec):
    """Encrypts with `active_key_id`; decrypts with whichever configured key a payload names."""

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"the active payload key {active_key_id!r} is not configured")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.active_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), _aad(key_id))
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r}, which is not configured (known: {self.key_ids})"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, _aad(key_id)))
        except InvalidTag:
            raise PayloadDecryptionError(f"payload under key {key_id!r} does not authenticate") from None


def _aad(key_id: str) -> bytes:
    return _AAD_PREFIX + key_id.encode()
