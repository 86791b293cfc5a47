"""The Zalo client against the fake server: shapes, limits, error classes, one token refresh, timeouts."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from db.engine import SessionFactory
from db.zalo_tokens import ZaloTokenStore
from domain import zns_templates
from domain.notices import NoticeKind
from tests.support.zalo import PHONE, TEMPLATE_IDS, Harness, make_settings, zalo_harness
from zalo.client import ZaloClient, tracking_id_for
from zalo.config import zalo_config
from zalo.errors import ErrorClass, ZaloError, classify
from zalo.fake_server import FakeZalo, FaultSpec, create_fake_zalo_app


@pytest.fixture
async def h(session_factory: SessionFactory) -> AsyncIterator[Harness]:
    async with zalo_harness(session_factory) as harness:
        yield harness


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        *[(c, ErrorClass.TOKEN) for c in (-216, -220, -124)],
        *[(c, ErrorClass.TRANSIENT) for c in (-32, -100, -99999)],
        *[(c, ErrorClass.NIGHT) for c in (-133, -234)],
        *[(c, ErrorClass.QUOTA) for c in (-144, -147)],
        *[
            (c, ErrorClass.PERMANENT)
            for c in (-108, -118, -119, -114, -213, -227, -230, -131, -201, -1121, -1122, -109)
        ],
    ],
)
def test_error_classes(code: int, expected: ErrorClass) -> None:
    assert classify(code) is expected
    assert ZaloError(code, "x").error_class is expected


def test_tracking_id_is_short_and_deterministic() -> None:
    key = "dossier-H21.65-261123-0001:12:fee_reminder"
    assert tracking_id_for(key) == tracking_id_for(key)
    assert tracking_id_for(key) != tracking_id_for(key + "x")
    assert len(tracking_id_for(key * 10)) <= 48


async def test_oa_text_and_zns_have_zalo_shapes(h: Harness) -> None:
    oa = await h.zalo.send_oa_text("2512000000000000001", "Xin chào ông/bà")
    data = {param.name: "x" for param in zns_templates.TEMPLATES[NoticeKind.RECEIVED].params}
    zns = await h.zalo.send_zns(PHONE, TEMPLATE_IDS["received"], data, "n1")

    assert [m["message_id"] for m in h.fake.messages] == [oa.message_id, zns.msg_id]
    assert (zns.daily_quota, zns.remaining_quota) == (100_000, 99_999)
    assert zns.sent_time is not None


async def test_text_over_2000_characters_is_refused_before_calling(h: Harness) -> None:
    with pytest.raises(ZaloError) as refused:
        await h.zalo.send_oa_text("u1", "ô" * 2001)
    assert refused.value.error_class is ErrorClass.PERMANENT
    assert h.fake.calls == []

    await h.zalo.send_oa_text("u1", "ô" * 2000)
    # Decomposed accents (NFD) are recomposed first, so they count once, as Zalo shows them.
    decomposed = unicodedata.normalize("NFD", "ộ" * 2000)
    assert len(decomposed) > 2000
    await h.zalo.send_oa_text("u1", decomposed)
    assert [len(m["text"]) for m in h.fake.messages] == [2000, 2000]


@pytest.mark.parametrize(
    ("phone", "template_id", "tracking_id"),
    [("0905123456", "1", "t"), (PHONE, "", "t"), (PHONE, "1", ""), (PHONE, "1", "x" * 49)],
)
async def test_bad_zns_input_is_refused_before_calling(
    h: Harness, phone: str, template_id: str, tracking_id: str
) -> None:
    with pytest.raises(ZaloError) as refused:
        await h.zalo.send_zns(phone, template_id, {"code": "x"}, tracking_id)
    assert refused.value.error_class is ErrorClass.PERMANENT
    assert h.fake.calls == []


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (FaultSpec(http_status=500), ErrorClass.TRANSIENT),
        (FaultSpec(http_status=429), ErrorClass.TRANSIENT),
        (FaultSpec(error=-32), ErrorClass.TRANSIENT),
        (FaultSpec(error=-100), ErrorClass.TRANSIENT),
        (FaultSpec(error=-133), ErrorClass.NIGHT),
        (FaultSpec(error=-147), ErrorClass.QUOTA),
        (FaultSpec(error=-230), ErrorClass.PERMANENT),
    ],
)
async def test_faults_come_back_classified(h: Harness, fault: FaultSpec, expected: ErrorClass) -> None:
    await h.tokens.access_token()
    h.fake.add_fault(fault.model_copy(update={"target": "oa"}))
    with pytest.raises(ZaloError) as failed:
        await h.zalo.send_oa_text("u1", "Xin chào")
    assert failed.value.error_class is expected
    assert h.fake.messages == []


async def test_token_error_refreshes_once_and_retries_once(h: Harness) -> None:
    await h.zalo.send_oa_text("u1", "một")
    h.fake.add_fault(FaultSpec(target="oa", error=-216))

    await h.zalo.send_oa_text("u1", "hai")

    assert h.fake.token_grants == 2
    assert [c["error"] for c in h.fake.calls if c["path"] == "oa"] == [0, "fault", 0]
    assert [m["text"] for m in h.fake.messages] == ["một", "hai"]


async def test_token_refused_even_after_refresh_is_transient_and_refreshes_only_once(h: Harness) -> None:
    await h.tokens.access_token()
    h.fake.add_fault(FaultSpec(target="zns", error=-124, count=2))

    with pytest.raises(ZaloError) as failed:
        await h.zalo.send_zns(PHONE, TEMPLATE_IDS["received"], {"customer_name": "A", "code": "B"}, "t")

    assert failed.value.error_class is ErrorClass.TRANSIENT
    assert "after refresh" in failed.value.message
    assert h.fake.token_grants == 2
    assert h.fake.messages == []


@pytest.mark.parametrize(
    ("raised", "maybe_delivered"),
    [
        (httpx.ConnectTimeout("x"), False),
        (httpx.ConnectError("x"), False),
        (httpx.PoolTimeout("x"), False),
        (httpx.ReadTimeout("x"), True),
        (httpx.WriteTimeout("x"), True),
        (httpx.RemoteProtocolError("x"), True),
        (httpx.ReadError("x"), True),
    ],
)
async def test_network_failures_say_whether_zalo_may_have_acted(
    raised: Exception, maybe_delivered: bool
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise raised

    class Token:
        async def access_token(self) -> str:
            return "t"

        async def refresh(self, stale: str | None) -> str:
            return "t"

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as http:
        client = ZaloClient(zalo_config(make_settings()), http, Token())
        with pytest.raises(ZaloError) as failed:
            await client.send_oa_text("u1", "Xin chào")

    assert failed.value.error_class is ErrorClass.TRANSIENT
    assert failed.value.maybe_delivered is maybe_delivered


async def test_a_stalled_zalo_is_a_transient_timeout(session_factory: SessionFactory) -> None:
    """Over a real socket (port 0): the client's timeout fires while the fake stalls."""
    fake = FakeZalo()
    app = create_fake_zalo_app(fake)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag, not an event)
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        settings = make_settings(fake_zalo_url=f"http://127.0.0.1:{port}", zalo_timeout_seconds=0.3)
        config = zalo_config(settings)
        async with httpx.AsyncClient() as http:
            client = ZaloClient(config, http, ZaloTokenStore(session_factory, config, http))
            await client.send_oa_text("u1", "trước")
            fake.add_fault(FaultSpec(target="oa", stall_seconds=2))

            with pytest.raises(ZaloError) as failed:
                await client.send_oa_text("u1", "trong lúc treo")

            assert failed.value.error_class is ErrorClass.TRANSIENT
            assert "timeout" in failed.value.message
            assert failed.value.maybe_delivered is True  # the request left; Zalo may have acted
    finally:
        server.should_exit = True
        await serving
    assert [m["text"] for m in fake.messages] == ["trước"]


@pytest.mark.parametrize(
    ("status", "maybe"), [(500, False), (502, True), (503, False), (504, True), (429, False)]
)
async def test_a_gateway_error_may_have_been_delivered_so_the_claim_is_kept(
    h: Harness, status: int, maybe: bool
) -> None:
    """A 502 or 504 comes from a gateway in front of Zalo, which may have taken the message: the send keeps
    its claim for the lease (a delivery receipt may still close the row); a 500, 503 or 429 is Zalo's own
    refusal, and nothing was sent."""
    await h.tokens.access_token()
    h.fake.add_fault(FaultSpec(target="zns", http_status=status))
    with pytest.raises(ZaloError) as failed:
        await h.zalo.send_zns(PHONE, "1", {"code": "x"}, "t-1")
    assert failed.value.error_class is ErrorClass.TRANSIENT
    assert failed.value.maybe_delivered is maybe
