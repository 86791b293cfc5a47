"""The codec server: the Temporal UI (and `temporal --codec-endpoint`) decrypt payloads here, never elsewhere.

Temporal's database holds only ciphertext (workflows/codec.py). An officer's browser, showing a history in
the Temporal UI, posts the encrypted payloads to `/codec/decode` and renders what comes back; the keys never
leave this process. The wire format is Temporal's remote codec protocol: a `Payloads` message as protobuf
JSON, `{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}`, with the namespace in
the `X-Namespace` header.

Who may call it: anyone an authenticator in `app.state.codec_authenticators` recognises: a signed-in
officer's desk session (the UI sends the cookie, TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true; added in
server.py) or the bearer token CODEC_AUTH_TOKEN (for the operators' CLI). What they may read
(web/codec_access.py): nothing unless their role may read personal data (CODEC_ROLES, else 403), and
of a dossier's payloads only those of their agencies (each payload names its workflow, which names the
agency); the others come back still encrypted. Every decode is logged with its caller and what was
decoded and withheld.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from pydantic import BaseModel, Field, field_validator
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api.problems import Problem
from domain.codes import ALL_AGENCIES, agency_of, code_of_workflow
from settings import Settings
from web.codec_access import CodecAuthenticator, CodecCaller
from web.deps import SettingsDep
from workflows.client import payload_codec
from workflows.codec import ENCODING, EncryptionCodec, PayloadDecryptionError, bound_workflow

log = structlog.get_logger("api.codec")

PREFIX = "/codec"
# A whole history page is decoded in one call; more than this is not a UI asking.
MAX_PAYLOADS = 2000


class PayloadJSON(BaseModel):
    """One `temporal.api.common.v1.Payload` in protobuf JSON: bytes are base64."""

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        _b64decode(value)
        return value

    @field_validator("metadata")
    @classmethod
    def _base64_values(cls, value: dict[str, str]) -> dict[str, str]:
        for item in value.values():
            _b64decode(item)
        return value

    def to_proto(self) -> Payload:
        return Payload(
            metadata={key: _b64decode(item) for key, item in self.metadata.items()},
            data=_b64decode(self.data),
        )

    @classmethod
    def from_proto(cls, payload: Payload) -> PayloadJSON:
        return cls(
            metadata={key: _b64encode(item) for key, item in payload.metadata.items()},
            data=_b64encode(payload.data),
        )


class PayloadsJSON(BaseModel):
    """`temporal.api.common.v1.Payloads` in protobuf JSON, as the Temporal UI and CLI send it."""

    payloads: list[PayloadJSON] = Field(default_factory=list, max_length=MAX_PAYLOADS)


def _b64decode(value: str) -> bytes:
    try:
        # Protobuf JSON accepts both alphabets, padded or not.
        padded = value + "=" * (-len(value) % 4)
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def _b64encode(value: bytes) -> str:
    return base64.b64encode(value).decode()


# ---------------------------------------------------------------- who may call


def bearer_token_authenticator(settings: Settings) -> CodecAuthenticator:
    """Accepts `Authorization: Bearer <CODEC_AUTH_TOKEN>` (compared in constant time): the operators' CLI,
    for every agency (the token is theirs alone; each decode is logged)."""
    expected = settings.codec_auth_token.get_secret_value().encode()

    async def authenticate(request: Request) -> CodecCaller | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if expected and scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected):
            return CodecCaller.of("codec-token", [ALL_AGENCIES], may_read=True)
        return None

    return authenticate


async def codec_caller(request: Request, settings: SettingsDep) -> CodecCaller:
    """Who is calling the codec; 401 for anyone no authenticator recognises, 403 for a role that may not
    read applicants' data."""
    authenticators: list[CodecAuthenticator] = request.app.state.codec_authenticators
    for authenticate in authenticators:
        caller = await authenticate(request)
        if caller is not None:
            if not caller.may_read:
                log.warning("codec.decode_refused", caller=caller.name, reason="role")
                raise Problem(403, "this account's role may not read applicants' data", slug="codec-role")
            return caller
    if settings.app_env == "local" and not settings.codec_auth_token.get_secret_value():
        # `make run` on a developer's machine: fake data, no token to paste.
        return CodecCaller.of("local-unauthenticated", [ALL_AGENCIES], may_read=True)
    problem = Problem(401, "the codec needs an officer session or its bearer token", slug="unauthenticated")
    problem.headers = {"WWW-Authenticate": "Bearer"}
    raise problem


def get_codec(request: Request) -> EncryptionCodec:
    codec: EncryptionCodec | None = request.app.state.codec
    if codec is None:
        raise Problem(404, "payload encryption is not configured (PAYLOAD_KEYS)", slug="codec-off")
    return codec


CallerDep = Annotated[CodecCaller, Depends(codec_caller)]
CodecDep = Annotated[EncryptionCodec, Depends(get_codec)]

router = APIRouter(prefix=PREFIX, tags=["codec"])

CODEC_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "No officer session and no valid codec token"},
    403: {"description": "The officer's role may not read applicants' data (CODEC_ROLES)"},
    404: {"description": "Payload encryption is not configured"},
    422: {"description": "Not a Payloads message, or a payload this codec cannot decrypt"},
}


@router.post("/decode", response_model=PayloadsJSON, responses=CODEC_RESPONSES)
async def decode(
    body: PayloadsJSON,
    caller: CallerDep,
    codec: CodecDep,
    x_namespace: Annotated[str | None, Header()] = None,
) -> PayloadsJSON:
    """Decrypt payloads for the Temporal UI or CLI (Temporal's remote codec protocol): those of the caller's
    agencies; the others come back as they were sent (still encrypted)."""
    reader = codec.lenient()
    answered: list[Payload] = []
    workflows: set[str] = set()
    withheld = 0
    for item in body.payloads:
        payload = item.to_proto()
        if payload.metadata.get("encoding") == ENCODING:
            workflow = bound_workflow(payload)
            code = code_of_workflow(workflow) if workflow else None
            if not caller.may_read_agency(agency_of(code) if code else None):
                withheld += 1
                answered.append(payload)
                continue
            workflows.add(workflow or "-")
        try:
            answered.append(reader.decrypt(payload))
        except PayloadDecryptionError as err:
            log.warning("codec.decode_refused", caller=caller.name, namespace=x_namespace, reason=str(err))
            raise Problem(422, str(err), slug="undecryptable-payload") from err
    # The audit trail: who read decrypted payloads of which dossiers, and what they were refused.
    log.info(
        "codec.decode",
        caller=caller.name,
        namespace=x_namespace,
        payloads=len(answered),
        withheld=withheld,
        workflows=sorted(workflows)[:20],
    )
    return PayloadsJSON(payloads=[PayloadJSON.from_proto(p) for p in answered])


@router.post("/encode", response_model=PayloadsJSON, responses=CODEC_RESPONSES)
async def encode(
    body: PayloadsJSON,
    caller: CallerDep,
    codec: CodecDep,
    x_namespace: Annotated[str | None, Header()] = None,
) -> PayloadsJSON:
    """Encrypt payloads with the active key (the protocol's other half). They are bound to no workflow, so a
    worker refuses them as a signal's or an update's input: the UI's write actions are off, and nothing
    sent this way changes a dossier."""
    encoded = await codec.encode([p.to_proto() for p in body.payloads])
    log.info("codec.encode", caller=caller.name, namespace=x_namespace, payloads=len(encoded))
    return PayloadsJSON(payloads=[PayloadJSON.from_proto(p) for p in encoded])


class PathCORS:
    """Starlette's CORS middleware for the codec paths only: the UI's origin may call nothing else."""

    def __init__(self, app: ASGIApp, prefix: str, origins: list[str]) -> None:
        self.app = app
        self.prefix = prefix
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["content-type", "x-namespace", "authorization"],
            # The UI sends the officer's session cookie when TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true.
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(self.prefix + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_codec_server(app: FastAPI, settings: Settings) -> None:
    """Mount /codec/encode and /codec/decode with CORS for the Temporal UI and the bearer-token authenticator.

    Other ways in (the officer session) append to `app.state.codec_authenticators`.
    """
    app.state.codec = payload_codec(settings)
    authenticators: list[CodecAuthenticator] = [bearer_token_authenticator(settings)]
    app.state.codec_authenticators = authenticators
    app.add_middleware(PathCORS, prefix=PREFIX, origins=settings.codec_origins)
    app.include_router(router)
