"""The payload codec: AES-256-GCM, so Temporal's database never holds an applicant's name or phone in clear.

Every payload (workflow input and result, update and signal arguments, activity arguments and results,
memo and UI summaries, failure messages) is serialized by the data converter, then encrypted here with
the active key. The key id travels in the payload's metadata and is bound to the ciphertext as
associated data, so a payload cannot be relabelled with another key's id. Every configured key still
decrypts: rotating means adding a new key, making it active, and keeping the old one until no history
that uses it is retained any more.

Each payload is also bound to its workflow (the SDK tells the codec which one: its serialization context):
the workflow id travels in the metadata and is part of the associated data. The codec server decodes a
payload only for officers of the agency that workflow belongs to (api/routes/codec.py), and a worker
refuses a payload not bound to the workflow it arrives at (one copied from another dossier's history, or
sealed by the codec server's /encode, which knows no workflow).

Two modes. The worker's and the clients' codec is *strict* (`data_converter`): a payload that is not
ours, or not bound to this workflow, or tampered with, comes out as `binary/plaintext-refused`, which no
payload converter reads, so a plaintext signal sent from the UI or the CLI is dropped and a plaintext
update is rejected, never applied (refusing it here instead would fail the workflow task over and over).
The codec server's is lenient: what is not ours passes through, for display.

Runs outside the workflow sandbox (the SDK calls codecs in the worker and the client, never in
workflow code), so I/O-free but non-deterministic things like random nonces are fine here.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
WORKFLOW_ID = "encryption-workflow-id"
# What a strict codec hands the converter instead of a payload it refuses: no converter reads it.
REFUSED = b"binary/plaintext-refused"
NONCE_BYTES = 12
# Associated data: a payload encrypted for this project under key K (for workflow W) decrypts only as such.
_AAD_PREFIX = b"dossier-tracker/payload/v1:"

log = logging.getLogger(__name__)


class PayloadDecryptionError(ValueError):
    """A payload that names an unknown key, or whose ciphertext does not authenticate."""


def bound_workflow(payload: Payload) -> str | None:
    """The workflow an encrypted payload is bound to (None: not ours, or encrypted without one)."""
    if payload.metadata.get("encoding") != ENCODING:
        return None
    bound = payload.metadata.get(WORKFLOW_ID, b"").decode(errors="replace")
    return bound or None


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """Encrypts with `active_key_id`; decrypts with whichever configured key a payload names."""

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str, *, strict: bool = False) -> None:
        if active_key_id not in keys:
            raise ValueError(f"the active payload key {active_key_id!r} is not configured")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id
        self.strict = strict
        self.workflow_id: str | None = None

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        """The codec for payloads of one workflow (or of its activities)."""
        bound = copy.copy(self)
        bound.workflow_id = getattr(context, "workflow_id", None) or None
        return bound

    def lenient(self) -> EncryptionCodec:
        """The same keys, letting what is not ours through (the codec server's view, for display)."""
        loose = copy.copy(self)
        loose.strict = False
        return loose

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.active_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(
            nonce, payload.SerializeToString(), _aad(key_id, self.workflow_id)
        )
        metadata = {"encoding": ENCODING, KEY_ID: key_id.encode()}
        if self.workflow_id:
            metadata[WORKFLOW_ID] = self.workflow_id.encode()
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return self._refused("not encrypted") if self.strict else payload
        bound = bound_workflow(payload)
        if self.strict and self.workflow_id and bound != self.workflow_id:
            # Every payload of a workflow is encrypted for it; one that is not was made elsewhere (copied
            # from another dossier, or sealed by /codec/encode, which knows no workflow).
            return self._refused("not encrypted for this workflow")
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r}, which is not configured (known: {self.key_ids})"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, _aad(key_id, bound)))
        except InvalidTag:
            if self.strict:
                return self._refused("does not authenticate")
            raise PayloadDecryptionError(f"payload under key {key_id!r} does not authenticate") from None

    def _refused(self, why: str) -> Payload:
        log.warning("codec.payload_refused: %s (workflow %s)", why, self.workflow_id or "-")
        return Payload(metadata={"encoding": REFUSED})


def _aad(key_id: str, workflow_id: str | None) -> bytes:
    aad = _AAD_PREFIX + key_id.encode()
    return aad + b"/" + workflow_id.encode() if workflow_id else aad
