"""Many open dossiers: start rate, worker memory against its sticky cache, Temporal's storage per dossier,
the list queries, and the catch-up after the worker was down.

    .venv/bin/python -m bench.scale --dossiers 200                   # SQLite projection
    .venv/bin/python -m bench.scale --dossiers 10000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

One Temporal dev server persisting to a SQLite file (so its size per dossier can be read), the fake Zalo and
the real worker (its own process, WORKER_MAX_CACHED_WORKFLOWS as asked) are started. Then:

1. start: `--dossiers` dossiers registered through the gateway, `--concurrency` at a time, spread over the
   open states (received, supplement_required, fee_due; every one with its timers pending), and the
   notices by status when it ends (how far the sends kept up; `--worker-pair` runs the sends in a process
   of their own, WORKER_RUNS); `--start-only` waits for the queued sends, times them, and stops there;
2. memory: for each `--cache-sizes` the worker is restarted with that sticky cache and every dossier is
   queried once (a query replays an evicted workflow into the cache), then its RSS is read; a restarted
   worker runs `--restart-slots` workflow tasks at once (10: with the default 100 a worker restarting into
   a backlog of replays timed its tasks out, docs/performance.md §6);
3. storage: the Temporal database file's size per dossier;
4. queries: the dossier list (first page) and the overdue list through the API's route, p50/p95;
5. catch-up: `--due` more dossiers whose due-soon timer comes due `--down` seconds after the worker is
   stopped; after that, the worker starts again and we time until every one of those timers has fired
   (its due_soon event recorded), and check that none fired twice and no notice was made twice.

The office calendar is set to (nearly) every minute of every day for the run, so a working-day count is a
real day and a timer can be made to come due within seconds; the workflow code is the production one.
Prints one JSON line per measure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

import bench.transitions
from bench.transitions import (
    free_port,
    fresh_database,
    spawn_worker,
    stack_env,
    start_fake_zalo,
    start_temporal,
    wait_port,
)

SPREAD = ("received", "supplement_required", "fee_due")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def size_mib(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return sum(p.stat().st_size for p in files if p.exists()) / 2**20


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(1000 * values[min(len(values) - 1, int(len(values) * q))], 1)


async def main(args: argparse.Namespace) -> None:
    from sqlalchemy import func, select
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    from db.engine import make_engine, make_session_factory
    from db.migrate import upgrade
    from db.models import DossierEvent, Notice
    from domain.calendar import WorkingCalendar
    from domain.dossier import FeeItem, FeeRequest, Outcome, Register, SupplementRequest
    from domain.status import Transition
    from settings import Settings
    from tests.support.builders import dossier_input
    from workflows import contracts
    from workflows.client import TemporalConnection
    from workflows.gateway import Gateway, Unavailable

    ports = {name: free_port() for name in ("temporal", "zalo")}
    processes: list[asyncio.subprocess.Process] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    temporal_db = tmp / "temporal.db"
    database_url = await fresh_database(args.database_url, tmp)
    await asyncio.to_thread(upgrade, database_url)
    own = {
        **stack_env(database_url, ports["temporal"], ports["zalo"], f"scale-{uuid.uuid4().hex[:8]}"),
        "OFFICE_PERIODS": '[["00:00", "23:59"]]',
        "CUTOFF_TIME": "23:59",
        "WORKING_WEEKDAYS": "[0, 1, 2, 3, 4, 5, 6]",
    }
    env = {**os.environ, **own}
    parsed = {k.lower(): json.loads(v) if v.startswith("[") else v for k, v in own.items()}
    settings = Settings(_env_file=None, **parsed)  # type: ignore[call-arg]
    gateway = Gateway(TemporalConnection(settings), settings)
    calendar = WorkingCalendar(settings.office_hours())
    day = settings.office_hours().day_length
    workers: list[asyncio.subprocess.Process] = []
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)

    async def start_worker(
        cache: int, settle: float = 3, restart: bool = True
    ) -> list[asyncio.subprocess.Process]:
        """The worker: one process, or with --worker-pair its workflows' process (first) and its
        activities' (WORKER_RUNS)."""
        slots = {"WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": str(args.restart_slots)} if restart else {}
        started = await spawn_worker(
            {**env, "WORKER_MAX_CACHED_WORKFLOWS": str(cache), **slots}, args.worker_pair
        )
        await asyncio.sleep(settle)
        return started

    async def stop_worker(processes: list[asyncio.subprocess.Process]) -> None:
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.wait_for(process.wait(), timeout=60)

    async def notices_by_status() -> dict[str, int]:
        async with sessions() as session:
            rows = await session.exec(select(Notice.status, func.count()).group_by(Notice.status))
        return {status: count for status, count in rows.all()}

    def out(**fields: Any) -> None:
        print(json.dumps(fields), flush=True)

    try:
        processes.append(await start_temporal(ports["temporal"], db_file=temporal_db))
        processes.append(await start_fake_zalo(ports["zalo"], env))
        await wait_port(ports["temporal"])
        await wait_port(ports["zalo"])
        workers = await start_worker(max(args.cache_sizes), restart=False)
        now = datetime.now(UTC)

        # 1. start
        semaphore = asyncio.Semaphore(args.concurrency)
        codes: list[str] = []

        retries: dict[str, int] = {}

        async def retried(call: Any, retry_on: tuple[type[BaseException], ...] = (Unavailable,)) -> None:
            """A call the engine did not answer in time is sent again, as a TTHC system would (the gateway's
            contract: the same call applies at most once); each retry is counted by its error."""
            for attempt in range(20):
                try:
                    await call()
                    return
                except retry_on as error:  # not answered in time, or a workflow task being retried just then
                    if attempt == 19:
                        raise
                    name = type(error).__name__
                    retries[name] = retries.get(name, 0) + 1
                    await asyncio.sleep(min(2**attempt, 30))

        async def open_one(i: int) -> None:
            code = f"S{i % 50:02d}.{i // 50:04d}-261123-{i:06d}"
            input = dossier_input(settings, code, received_at=now - timedelta(hours=1))
            async with semaphore:
                await retried(
                    lambda: gateway.update(input, contracts.REGISTER, Register(input.fingerprint), Outcome)
                )
                state = SPREAD[i % len(SPREAD)]
                at = now - timedelta(minutes=30)
                command: Any = None
                if state == "supplement_required":
                    command = SupplementRequest(event_id="s1", at=at, items=["Bản vẽ"])
                    transition = Transition.REQUEST_SUPPLEMENT
                elif state == "fee_due":
                    command = FeeRequest(
                        event_id="f1", at=at, items=[FeeItem("Lệ phí", 100_000)], pay_within_days=5
                    )
                    transition = Transition.REQUEST_FEE
                if command is not None:
                    # Registered: a plain update, as the gateway sends it for a dossier that has reported.
                    await retried(
                        lambda: gateway.update(input, transition.value, command, Outcome, started=True)
                    )
            codes.append(code)

        started = time.perf_counter()
        await asyncio.gather(*(open_one(i) for i in range(args.dossiers)))
        seconds = time.perf_counter() - started
        out(
            measure="start",
            dossiers=args.dossiers,
            seconds=round(seconds, 1),
            dossiers_per_s=round(args.dossiers / seconds, 1),
            updates_per_s=round(args.dossiers * 5 / 3 / seconds, 1),
            retries=dict(retries),
            worker_pair=args.worker_pair,
            # Every registration queues a notice, and so does every supplement and fee request: how many
            # of them the worker sent while the start ran (a saturated worker starves its sends, §6).
            notices_at_end=await notices_by_status(),
        )
        retries.clear()
        if args.start_only:
            # How long the sends take to catch up once the start is over.
            deadline = time.perf_counter() + args.catch_up_limit
            while time.perf_counter() < deadline:
                if not (await notices_by_status()).get("queued"):
                    break
                await asyncio.sleep(1)
            out(
                measure="notices_drained",
                seconds_after_start=round(time.perf_counter() - started - seconds, 1),
                notices=await notices_by_status(),
            )
            return

        # 2. memory against the sticky cache
        client = await gateway.client()
        for cache in sorted(args.cache_sizes):
            await stop_worker(workers)
            workers = await start_worker(cache)
            idle = rss_mib(workers[0].pid)  # the process that holds the workflows
            started = time.perf_counter()
            for chunk in range(0, len(codes), args.concurrency):
                # A query of an evicted dossier replays it; one the worker did not answer in time (its RPC
                # deadline, or the SDK's 2 s deadlock detector on a starved CPU) is asked again.
                await asyncio.gather(
                    *(
                        retried(
                            lambda code=code: client.get_workflow_handle(f"dossier-{code}").query("state"),
                            (RPCError, WorkflowQueryFailedError),
                        )
                        for code in codes[chunk : chunk + args.concurrency]
                    )
                )
            out(
                measure="memory",
                cache=cache,
                dossiers=len(codes),
                rss_idle_mib=idle,
                rss_mib=rss_mib(workers[0].pid),
                **({"rss_activities_mib": rss_mib(workers[1].pid)} if args.worker_pair else {}),
                replay_s=round(time.perf_counter() - started, 1),
                retries=dict(retries),
            )

        # 3. storage
        size = size_mib(temporal_db)
        out(
            measure="temporal_storage",
            mib=round(size, 1),
            kib_per_dossier=round(1024 * size / len(codes), 1),
        )

        # 4. queries
        from db.clients import create_client
        from server import create_app

        key = "scale-" + uuid.uuid4().hex
        async with sessions() as session:
            await create_client(session, "scale", ["*"], key)
        app = create_app(settings, temporal=client, session_factory=sessions)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as api,
        ):
            for name, params in (("list", {}), ("overdue", {"overdue": "true"}), ("q", {"q": "0042"})):
                timings = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    response = await api.get(
                        "/api/v1/dossiers", params=params, headers={"Authorization": f"Bearer {key}"}
                    )
                    timings.append(time.perf_counter() - t0)
                    response.raise_for_status()
                out(
                    measure="query",
                    query=name,
                    backend=engine.dialect.name,
                    rows=len(codes),
                    p50_ms=p(timings, 0.5),
                    p95_ms=p(timings, 0.95),
                )

        # 5. catch-up: timers that come due while the worker is down
        due_codes = [f"D{i % 50:02d}.{i // 50:04d}-261123-{i:06d}" for i in range(args.due)]
        fire_at = datetime.now(UTC) + timedelta(seconds=args.due / 5 + 20)  # after they are all registered
        received_at = calendar.add_working_time(fire_at, -day)

        async def due_one(code: str) -> None:
            # Two working days: the due-soon timer (one working day before) comes due at `fire_at`.
            input = dossier_input(settings, code, received_at=received_at, working_days=2)
            async with semaphore:
                await retried(
                    lambda: gateway.update(input, contracts.REGISTER, Register(input.fingerprint), Outcome)
                )

        await asyncio.gather(*(due_one(code) for code in due_codes))
        await stop_worker(workers)
        down_until = max(fire_at, datetime.now(UTC)) + timedelta(seconds=args.down)
        await asyncio.sleep((down_until - datetime.now(UTC)).total_seconds())
        restarted = time.perf_counter()  # from the process's start: its start-up is part of the catch-up
        workers = await start_worker(max(args.cache_sizes), settle=0)

        async def fired() -> tuple[int, int, int]:
            async with sessions() as session:
                events = await session.scalar(
                    select(func.count()).select_from(DossierEvent).where(DossierEvent.kind == "due_soon")
                )
                distinct = await session.scalar(
                    select(func.count(func.distinct(DossierEvent.dossier_code))).where(
                        DossierEvent.kind == "due_soon"
                    )
                )
                notices = await session.scalar(
                    select(func.count()).select_from(Notice).where(Notice.kind == "due_soon")
                )
            return int(events or 0), int(distinct or 0), int(notices or 0)

        deadline = time.perf_counter() + args.catch_up_limit
        events = distinct = notices = 0
        while time.perf_counter() < deadline:
            events, distinct, notices = await fired()
            if distinct >= len(due_codes):
                break
            await asyncio.sleep(0.5)
        catch_up = time.perf_counter() - restarted
        await asyncio.sleep(3)  # anything late or doubled shows up now
        events, distinct, notices = await fired()
        out(
            measure="catch_up",
            due=len(due_codes),
            open_dossiers=len(codes) + len(due_codes),
            worker_down_s=args.down,
            seconds=round(catch_up, 1),
            timers_per_s=round(distinct / catch_up, 1) if catch_up else None,
            fired=distinct,
            due_soon_events=events,
            due_soon_notices=notices,
            duplicates=events - distinct,
        )
    finally:
        await engine.dispose()
        for worker in workers:
            with suppress(ProcessLookupError):
                worker.terminate()
        for worker in workers:
            with suppress(Exception):
                await asyncio.wait_for(worker.wait(), timeout=30)
        for process in reversed(processes):
            with suppress(ProcessLookupError):
                process.terminate()
            with suppress(Exception):
                await asyncio.wait_for(process.wait(), timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)  # the dev server's file: 324 MiB for 10,000 dossiers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=200)
    parser.add_argument("--due", type=int, default=50, help="dossiers whose timer comes due while down")
    parser.add_argument("--down", type=float, default=20, help="seconds the worker stays down after that")
    parser.add_argument("--cache-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--catch-up-limit", type=float, default=600)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the processes' output here")
    parser.add_argument(
        "--restart-slots",
        type=int,
        default=10,
        help="WORKER_MAX_CONCURRENT_WORKFLOW_TASKS of the restarted workers (the start keeps the setting's)",
    )
    parser.add_argument(
        "--worker-pair",
        action="store_true",
        help="run the worker as two processes, WORKER_RUNS=workflows and WORKER_RUNS=activities",
    )
    parser.add_argument("--start-only", action="store_true", help="stop after the start (step 1)")
    arguments = parser.parse_args()
    if arguments.log_dir is not None:
        arguments.log_dir.mkdir(parents=True, exist_ok=True)
        bench.transitions.LOG_DIR = arguments.log_dir
    asyncio.run(main(arguments))
