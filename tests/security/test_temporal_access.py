"""Temporal's side door: the UI, the CLI and the codec server.

The attacks: anyone who can reach the Temporal UI (or the CLI with the frontend's address) sends the
dossier's workflow a signal or an update in plaintext, e.g. the first release's `payment_received`
signal, and the worker applies it: a dossier paid by nobody; and any signed-in officer, of any agency,
or a read-only viewer, decodes any dossier's history through the codec server, names and phones included.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog
from google.protobuf.json_format import MessageToDict
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.converter import WorkflowSerializationContext

from api.routes.codec import PREFIX
from db.engine import SessionFactory
from domain.access import DeskRole
from domain.dossier import PaymentReceived
from server import create_app
from tests.support.api import registration
from tests.support.builders import Moments, new_code
from tests.support.encryption import Encrypted
from tests.support.lifecycle import APPLICANT_NAME
from tests.support.pages import seed_officer, sign_in
from workflows import contracts
from workflows.codec import ENCODING, REFUSED, EncryptionCodec


async def dossier_with_fee(api: httpx.AsyncClient) -> str:
    t = Moments()
    code = new_code()
    assert (await api.post("/api/v1/dossiers", json=registration(code, t(0)))).status_code == 201
    fee = {"event_id": "f-1", "at": t(1).isoformat(), "items": [{"name": "Lệ phí", "amount_vnd": 500_000}]}
    assert (await api.post(f"/api/v1/dossiers/{code}/fee", json=fee)).json()["status"] == "fee_due"
    return code


async def handled(handle: WorkflowHandle[Any, Any], after: EventType.ValueType) -> None:
    """Wait until the worker has completed a workflow task after the last event of type `after`."""
    for _ in range(100):
        events = [e.event_type for e in (await handle.fetch_history()).events]
        if after in events:
            last = len(events) - 1 - events[::-1].index(after)
            if EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in events[last:]:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the worker did not handle it")


async def test_a_plaintext_signal_or_update_changes_nothing(encrypted: Encrypted) -> None:
    code = await dossier_with_fee(encrypted.api)
    handle = encrypted.plain.get_workflow_handle(f"dossier-{code}")  # a client without the codec: the CLI
    payment = PaymentReceived("FORGED-1", 500_000, datetime.now(UTC), source="cli")

    await handle.signal(contracts.PAYMENT_SIGNAL, payment)
    await handled(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    after_signal = (await encrypted.api.get(f"/api/v1/dossiers/{code}")).json()["status"]
    print("plaintext payment signal →", after_signal)
    assert after_signal == "fee_due"

    try:
        await handle.execute_update(
            contracts.RECORD_PAYMENT, PaymentReceived("FORGED-2", 500_000, datetime.now(UTC))
        )
        answer = "applied"
    except Exception as error:  # the update is rejected (or its encrypted answer unreadable here)
        answer = type(error).__name__
    view = (await encrypted.api.get(f"/api/v1/dossiers/{code}")).json()
    print("plaintext record_payment update →", answer, view["status"])
    assert view["status"] == "fee_due"
    assert not [e for e in view["timeline"] if e["kind"].startswith("payment")]


async def test_a_payload_copied_from_another_dossier_is_refused() -> None:
    codec = EncryptionCodec({"k1": os.urandom(32)}, "k1", strict=True)
    theirs = codec.with_context(WorkflowSerializationContext("dossiers", "dossier-H21.65-261123-0001"))
    mine = codec.with_context(WorkflowSerializationContext("dossiers", "dossier-H21.65-261123-0002"))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"amount_vnd": 500000}')
    [sealed] = await theirs.encode([plain])

    assert await theirs.decode([sealed]) == [plain]
    [refused] = await mine.decode([sealed])
    assert refused.metadata["encoding"] == REFUSED
    [unbound] = await codec.encode([plain])  # what /codec/encode makes: bound to no workflow
    assert (await mine.decode([unbound]))[0].metadata["encoding"] == REFUSED
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata["encryption-workflow-id"] = b"dossier-H21.65-261123-0002"
    assert (await mine.decode([relabelled]))[0].metadata["encoding"] == REFUSED


async def history_payloads(encrypted: Encrypted, code: str) -> dict[str, Any]:
    stored = await encrypted.plain.get_workflow_handle(f"dossier-{code}").fetch_history()
    started = stored.events[0].workflow_execution_started_event_attributes
    return MessageToDict(Payloads(payloads=list(started.input.payloads)))


def shows_the_applicant(answer: httpx.Response) -> bool:
    for payload in answer.json().get("payloads", []):
        if base64.b64decode(payload["metadata"]["encoding"]) != ENCODING:
            return APPLICANT_NAME in json.loads(base64.b64decode(payload["data"]))["applicant"]["name"]
    return False


@pytest.mark.parametrize(
    ("agencies", "role", "reads"),
    [
        (["H21.65"], DeskRole.OFFICER, True),
        (["H22.01"], DeskRole.OFFICER, False),
        (["*"], DeskRole.VIEWER, False),
    ],
)
async def test_the_codec_decodes_for_officers_of_the_dossiers_agency_only(
    encrypted: Encrypted, session_factory: SessionFactory, agencies: list[str], role: DeskRole, reads: bool
) -> None:
    code = await dossier_with_fee(encrypted.api)
    body = await history_payloads(encrypted, code)
    await seed_officer(session_factory, "nguoi.doc", agencies=agencies, role=role)
    app = create_app(encrypted.settings, temporal=encrypted.client, session_factory=session_factory)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as ui:
        await sign_in(ui, "nguoi.doc")
        with structlog.testing.capture_logs() as logs:
            answer = await ui.post(f"{PREFIX}/decode", json=body, headers={"X-Namespace": "dossiers"})

    print(agencies, role.value, "→", answer.status_code, "applicant shown:", shows_the_applicant(answer))
    assert shows_the_applicant(answer) is reads
    audit = [e for e in logs if e["event"].startswith("codec.decode")]
    assert audit
    assert all(e["caller"] == "officer:nguoi.doc" for e in audit)
    if reads:
        assert answer.status_code == 200
        assert audit[-1]["workflows"] == [f"dossier-{code}"]
    elif role is DeskRole.VIEWER:
        assert answer.status_code == 403
        assert answer.headers["content-type"] == "application/problem+json"
    else:
        assert answer.status_code == 200
        assert answer.json() == body  # still encrypted: nothing of another agency is decrypted
        assert audit[-1]["withheld"] == 1


def test_the_compose_ui_is_read_only_and_behind_the_officers_login(resolved: dict[str, Any]) -> None:
    ui = resolved["services"]["temporal-ui"]["environment"]
    assert ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert ui["TEMPORAL_AUTH_ENABLED"] == "true"
    assert ui["TEMPORAL_AUTH_TYPE"] == "oidc"
    for setting in ("PROVIDER_URL", "CLIENT_ID", "CLIENT_SECRET", "CALLBACK_URL"):
        assert ui[f"TEMPORAL_AUTH_{setting}"], setting
    assert [p["host_ip"] for p in resolved["services"]["temporal-ui"]["ports"]] == ["127.0.0.1"]
