"""PII stays out of Temporal: payloads are AES-GCM encrypted, and officers decrypt through the codec server.

The proof reads the history the way anyone with Temporal's database (or a UI without our codec) would:
through a client WITHOUT the codec, and searches the raw bytes for the applicant's name and phone.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads, SearchAttributes
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from api.routes.codec import PREFIX
from db.clients import create_client
from db.engine import SessionFactory
from server import create_app
from settings import Settings
from tests.support.encryption import CODEC_TOKEN, UI_ORIGIN, Encrypted, new_key, with_keys
from tests.support.lifecycle import APPLICANT_NAME, full_lifecycle
from tests.support.pages import hidden, seed_officer, sign_in
from worker import build_worker
from workflows.client import data_converter, payload_codec
from workflows.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadDecryptionError

# Every way the applicant could appear in a stored payload: UTF-8, JSON-escaped, and the phone's forms.
CLEAR_FORMS = [
    APPLICANT_NAME.encode(),
    b"Nguy\\u1ec5n V\\u0103n A",
    b"84905123456",
    b"0905123456",
    b"905123456",
]


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload a history holds, except search attributes (indexed in clear by design, never PII)."""
    if isinstance(message, SearchAttributes):
        return
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue  # a scalar
        if isinstance(value, Message):
            yield from payloads_in(value)
        else:  # a repeated field or a map of messages
            for item in value.values() if hasattr(value, "values") else value:
                if isinstance(item, Message):
                    yield from payloads_in(item)


def application_payloads(history: WorkflowHistory) -> list[Payload]:
    """The payloads our converter wrote: all but the SDK's own marker bookkeeping.

    A local activity's marker carries its result (ours, encrypted) and a `data` detail the SDK writes itself
    (sequence number, activity type, timing); a patch marker (`workflow.patched`) holds only the patch id.
    Neither holds application data, and the SDK never passes them through a codec.
    """
    found: list[Payload] = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            if event.marker_recorded_event_attributes.marker_name == "core_patch":
                continue
            details = event.marker_recorded_event_attributes.details
            found += [p for key, ps in details.items() if key != "data" for p in ps.payloads]
        else:
            found += payloads_in(event)
    return found


def as_proto(history: WorkflowHistory) -> History:
    return History(events=history.events)


def clear_forms_in(history: WorkflowHistory) -> list[bytes]:
    raw = as_proto(history).SerializeToString()
    return [form for form in CLEAR_FORMS if form in raw]


async def test_the_stored_history_holds_no_name_or_phone_in_clear(encrypted: Encrypted) -> None:
    code = await full_lifecycle(encrypted.api)

    stored = await encrypted.plain.get_workflow_handle(f"dossier-{code}").fetch_history()
    assert clear_forms_in(stored) == []
    payloads = application_payloads(stored)
    assert len(payloads) > 20  # input, updates, activity arguments and results, summaries, failures
    assert {p.metadata["encoding"] for p in payloads} == {ENCODING}
    assert {p.metadata[KEY_ID] for p in payloads} == {b"k2"}
    # The 409 of the illegal transition is in history too: its message is encrypted, not only its details.
    assert b"not allowed" not in as_proto(stored).SerializeToString()

    # With the codec, the same history reads back in full.
    decoded = await encrypted.client.get_workflow_handle(f"dossier-{code}").fetch_history()
    started = decoded.events[0].workflow_execution_started_event_attributes
    [argument] = await encrypted.client.data_converter.decode(started.input.payloads)
    assert argument["applicant"]["name"] == APPLICANT_NAME
    assert argument["applicant"]["phone"] == "84905123456"


async def test_without_a_key_the_same_scan_finds_the_applicant(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    """The control: the scan above does see clear data when there is any."""
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
    app = create_app(settings, temporal=workflow_env.client, session_factory=session_factory)
    async with (
        build_worker(workflow_env.client, settings, session_factory, fake_zalo),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api.test",
            headers={"Authorization": f"Bearer {key}"},
        ) as api,
    ):
        code = await full_lifecycle(api)
    stored = await workflow_env.client.get_workflow_handle(f"dossier-{code}").fetch_history()
    found = clear_forms_in(stored)
    assert APPLICANT_NAME.encode() in found or b"Nguy\\u1ec5n V\\u0103n A" in found
    assert b"84905123456" in found


async def test_the_codec_server_decodes_what_the_ui_sends(encrypted: Encrypted) -> None:
    code = await full_lifecycle(encrypted.api)
    stored = await encrypted.plain.get_workflow_handle(f"dossier-{code}").fetch_history()
    started = stored.events[0].workflow_execution_started_event_attributes
    # Exactly the JSON the Temporal UI posts: a Payloads message in protobuf JSON.
    body = MessageToDict(Payloads(payloads=started.input.payloads))
    headers = {
        "Authorization": f"Bearer {CODEC_TOKEN}",
        "X-Namespace": encrypted.client.namespace,
        "Origin": UI_ORIGIN,
    }

    response = await encrypted.api.post(f"{PREFIX}/decode", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    [payload] = response.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    clear = json.loads(base64.b64decode(payload["data"]))
    assert clear["applicant"] == {"name": APPLICANT_NAME, "phone": "84905123456", "zalo_user_id": None}

    # The whole history decodes in one call, as the UI does for an event list.
    everything = MessageToDict(Payloads(payloads=list(payloads_in(as_proto(stored)))))
    response = await encrypted.api.post(f"{PREFIX}/decode", json=everything, headers=headers)
    assert response.status_code == 200
    decoded = response.json()["payloads"]
    assert len(decoded) == len(everything["payloads"])
    assert all(base64.b64decode(p["metadata"]["encoding"]) != ENCODING for p in decoded)

    # And /encode gives back what the worker can read (an officer signalling from the UI).
    sealed = await encrypted.api.post(f"{PREFIX}/encode", json={"payloads": decoded[:1]}, headers=headers)
    assert sealed.status_code == 200
    [again] = sealed.json()["payloads"]
    assert base64.b64decode(again["metadata"][KEY_ID]) == b"k2"
    [round_trip] = await encrypted.client.data_converter.decode(
        [
            Payload(
                metadata={k: base64.b64decode(v) for k, v in again["metadata"].items()},
                data=base64.b64decode(again["data"]),
            )
        ]
    )
    assert round_trip["applicant"]["name"] == APPLICANT_NAME


async def test_the_codec_server_lets_in_only_token_holders_from_the_ui_origin(encrypted: Encrypted) -> None:
    codec = encrypted.api
    empty = {"payloads": []}
    assert (
        await codec.post(f"{PREFIX}/decode", json=empty)
    ).status_code == 401  # the API key is no codec key
    wrong = await codec.post(f"{PREFIX}/decode", json=empty, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    right = await codec.post(
        f"{PREFIX}/decode", json=empty, headers={"Authorization": f"Bearer {CODEC_TOKEN}"}
    )
    assert (right.status_code, right.json()) == (200, {"payloads": []})

    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    ok = await codec.options(f"{PREFIX}/decode", headers={"Origin": UI_ORIGIN, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "x-namespace" in ok.headers["access-control-allow-headers"].lower()
    stranger = await codec.options(
        f"{PREFIX}/decode", headers={"Origin": "https://evil.example", **preflight}
    )
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers
    # CORS covers the codec only: the machine API is not callable from browsers.
    api_preflight = await codec.options("/api/v1/dossiers", headers={"Origin": UI_ORIGIN, **preflight})
    assert "access-control-allow-origin" not in api_preflight.headers

    garbage = await codec.post(
        f"{PREFIX}/decode",
        json={"payloads": [{"metadata": {"encoding": "not base64!"}, "data": ""}]},
        headers={"Authorization": f"Bearer {CODEC_TOKEN}"},
    )
    assert garbage.status_code == 422


async def test_a_signed_in_officer_decodes_through_the_codec_and_nobody_else(
    encrypted: Encrypted, session_factory: SessionFactory
) -> None:
    """The Temporal UI sends the officer's desk cookie (TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true)."""
    await seed_officer(session_factory)
    app = create_app(encrypted.settings, temporal=encrypted.client, session_factory=session_factory)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test"
    ) as browser:
        anonymous = await browser.post(f"{PREFIX}/decode", json={"payloads": []})
        assert anonymous.status_code == 401
        await sign_in(browser)
        officer = await browser.post(f"{PREFIX}/decode", json={"payloads": []})
        assert officer.status_code == 200
        assert officer.json() == {"payloads": []}
        await browser.post("/can-bo/dang-xuat", data={"csrf_token": await csrf_of(browser)})
        after_logout = await browser.post(f"{PREFIX}/decode", json={"payloads": []})
        assert after_logout.status_code == 401


async def csrf_of(browser: httpx.AsyncClient) -> str:
    return hidden((await browser.get("/can-bo")).text, "csrf_token")


async def test_codec_is_open_locally_without_a_token_and_absent_without_keys(settings: Settings) -> None:
    local = with_keys(settings, {"k1": new_key()}, "k1", codec_auth_token="")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(local)), base_url="http://api.test"
    ) as http:
        assert (await http.post(f"{PREFIX}/decode", json={"payloads": []})).status_code == 200
    production_like = with_keys(settings, {"k1": new_key()}, "k1", codec_auth_token="", app_env="local")
    production_like = production_like.model_copy(update={"app_env": "production"})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(production_like)), base_url="http://api.test"
    ) as http:
        assert (await http.post(f"{PREFIX}/decode", json={"payloads": []})).status_code == 401
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://api.test"
    ) as http:
        off = await http.post(f"{PREFIX}/decode", json={"payloads": []})
        assert off.status_code == 404
        assert off.json()["type"] == "urn:dossier-tracker:problem:codec-off"


# ---------------------------------------------------------------- the codec itself


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def test_rotation_old_keys_still_decrypt_new_payloads_use_the_new_key() -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    before = EncryptionCodec({"k1": k1}, "k1")
    after = EncryptionCodec({"k1": k1, "k2": k2}, "k2")
    [old] = await before.encode([payload(APPLICANT_NAME)])
    assert old.metadata[KEY_ID] == b"k1"
    assert APPLICANT_NAME.encode() not in old.SerializeToString()

    assert await after.decode([old]) == [payload(APPLICANT_NAME)]
    [new] = await after.encode([payload(APPLICANT_NAME)])
    assert new.metadata[KEY_ID] == b"k2"
    # Once k1 is dropped, only what k1 sealed becomes unreadable, with a message that names it.
    k2_only = EncryptionCodec({"k2": k2}, "k2")
    assert await k2_only.decode([new]) == [payload(APPLICANT_NAME)]
    with pytest.raises(PayloadDecryptionError, match="'k1'"):
        await k2_only.decode([old])


async def test_tampering_and_relabelling_are_refused_and_clear_payloads_pass() -> None:
    codec = EncryptionCodec({"k1": os.urandom(32), "k2": os.urandom(32)}, "k1")
    [sealed] = await codec.encode([payload("0905123456")])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptionError, match="does not authenticate"):
        await codec.decode([flipped])
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[KEY_ID] = b"k2"  # the key id is bound to the ciphertext
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([relabelled])
    # Histories written before encryption was switched on stay readable.
    assert await codec.decode([payload("trước khi mã hoá")]) == [payload("trước khi mã hoá")]
    # Same clear text, different ciphertext (random nonce): nothing to compare between payloads.
    [a, b] = await codec.encode([payload("x"), payload("x")])
    assert a.data != b.data


@pytest.mark.parametrize(
    ("keys", "active", "message"),
    [
        ("k1:change-me", "", "placeholder"),
        ("k1:bm90LWEta2V5", "", "32"),
        ("k1:@@@", "", "base64"),
        ("k 1:" + base64.b64encode(bytes(32)).decode(), "", "key id"),
        ("k1:{k},k2:{k}", "", "PAYLOAD_KEY_ID"),
        ("k1:{k}", "k9", "not one of"),
        ("k1:{k},k1:{k}", "k1", "twice"),
    ],
)
def test_bad_payload_key_settings_are_refused_at_start(keys: str, active: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(_env_file=None, payload_keys=keys.format(k=new_key()), payload_key_id=active)  # type: ignore[call-arg]


def test_no_keys_means_no_codec_and_one_key_needs_no_id(settings: Settings) -> None:
    assert payload_codec(settings) is None
    assert data_converter(settings) is DataConverter.default
    one = with_keys(settings, {"only": new_key()}, "")
    codec = payload_codec(one)
    assert codec is not None
    assert codec.active_key_id == "only"
