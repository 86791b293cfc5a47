"""How long a citizen's notice waits while the officers' Zalo (OA) is failing.

    .venv/bin/python -m bench.notice_isolation --dossiers 5 --outage 60

One Temporal dev server, the real worker and an in-process fake Zalo whose OA endpoint answers HTTP 503
for `--outage` seconds (ZNS stays up). For each dossier: registration, a fee, then a payment that
falls short of the fee (an officer notice, over the failing OA), then the withdrawal (a citizen notice, by
ZNS).
Measured: from the withdrawal's answer to the citizen's message at the fake Zalo, and to the officer's.
With one queue of notices per dossier the citizen waits behind the officer's retries; with one per
audience (the notices-by-audience patch) it does not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FAKE_ZALO_URL = "http://fake-zalo.bench"


async def arrival(fake: httpx.AsyncClient, code: str, channel: str, since: float) -> float:
    """Seconds from `since` until the fake Zalo holds a message on `channel` about `code`."""
    while True:
        messages = (await fake.get("/_fake/messages")).json()
        if any(m["channel"] == channel and code in json.dumps(m, ensure_ascii=False) for m in messages):
            return time.perf_counter() - since
        await asyncio.sleep(0.05)


async def main(args: argparse.Namespace) -> None:
    from temporalio.testing import WorkflowEnvironment

    from db.engine import engine_for, make_session_factory
    from db.migrate import upgrade
    from domain.codes import workflow_id
    from domain.dossier import (
        FeeItem,
        FeeRequest,
        Outcome,
        PaymentAnswer,
        PaymentReceived,
        Register,
        Withdrawal,
    )
    from domain.status import Transition
    from settings import Settings, configure_logging
    from tests.support.builders import Moments, dossier_input
    from worker import build_worker
    from workflows import contracts, search_attributes
    from workflows.client import TemporalConnection
    from workflows.gateway import Gateway
    from zalo.fake_server import create_fake_zalo_app

    options: dict[str, Any] = {}
    try:  # the ZNS templates as registered, where this version has them
        from domain import zns_templates

        options["templates"] = zns_templates.as_registered(zns_templates.fake_template_ids())
    except ImportError:
        pass

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
    )
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(upgrade, database_url)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            app_env="local",
            database_url=database_url,
            task_queue=f"bench-{uuid.uuid4().hex[:8]}",
            zalo_mode="fake",
            fake_zalo_url=FAKE_ZALO_URL,
            officer_zalo_ids={"*": {"officer": ["officer-1"]}},
            quiet_hours_start=clock_time(0, 0),
            quiet_hours_end=clock_time(0, 0),
            log_level="WARNING",
        )
        configure_logging(settings, "bench")
        engine = engine_for(settings)
        sessions = make_session_factory(engine)
        app = create_fake_zalo_app(**options)
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url=FAKE_ZALO_URL) as fake,
            build_worker(env.client, settings, sessions, fake),
        ):
            gateway = Gateway(TemporalConnection(settings, env.client), settings)
            t = Moments()
            citizen: list[float] = []
            officer: list[float] = []
            for i in range(args.dossiers):
                input = dossier_input(settings, code=f"H21.65-261123-{i + 1:04d}", received_at=t(0))
                await gateway.update(input, contracts.REGISTER, Register(input.fingerprint), Outcome)
                await arrival(fake, input.code, "zns", time.perf_counter())  # the receipt notice is out
                outage = {"target": "oa", "http_status": 503, "seconds": args.outage}
                (await fake.post("/_fake/faults", json=outage)).raise_for_status()
                fee = FeeRequest(
                    event_id=f"f{i}", at=t(1), items=[FeeItem("Lệ phí", 150_000)], pay_within_days=5
                )
                await gateway.update(input, Transition.REQUEST_FEE.value, fee, Outcome)
                await _nth_zns(fake, input.code, 2, time.perf_counter())  # the fee notice is out
                payment = PaymentReceived(f"PAY-{i}", 50_000, t(1.5), source="webhook")
                await gateway.update(input, contracts.RECORD_PAYMENT, payment, PaymentAnswer)
                withdrawal = Withdrawal(event_id=f"w{i}", at=t(2), by="bench", reason="Công dân xin rút")
                await gateway.update(input, Transition.WITHDRAW.value, withdrawal, Outcome)
                since = time.perf_counter()
                to_citizen, to_officer = await asyncio.gather(
                    _nth_zns(fake, input.code, 3, since),
                    arrival(fake, input.code, "oa", since),
                )
                citizen.append(to_citizen)
                officer.append(to_officer)
                await env.client.get_workflow_handle(workflow_id(input.code)).result()
                (await fake.delete("/_fake/faults")).raise_for_status()
                print(
                    json.dumps(
                        {
                            "dossier": input.code,
                            "citizen_s": round(to_citizen, 2),
                            "officer_s": round(to_officer, 2),
                        }
                    )
                )
        await engine.dispose()
    await env.shutdown()
    print(
        json.dumps(
            {
                "outage_s": args.outage,
                "dossiers": args.dossiers,
                "citizen_notice_delay_p50_s": round(statistics.median(citizen), 2),
                "citizen_notice_delay_max_s": round(max(citizen), 2),
                "officer_notice_delay_p50_s": round(statistics.median(officer), 2),
            }
        )
    )


async def _nth_zns(fake: httpx.AsyncClient, code: str, n: int, since: float) -> float:
    """Seconds until the `n`th ZNS message about `code` (receipt, fee, withdrawal) has arrived."""
    while True:
        messages = (await fake.get("/_fake/messages")).json()
        mine = [m for m in messages if m["channel"] == "zns" and code in json.dumps(m, ensure_ascii=False)]
        if len(mine) >= n:
            return time.perf_counter() - since
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=3)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the OA answers 503")
    asyncio.run(main(parser.parse_args()))
