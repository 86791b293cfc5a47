"""Fault injection (issue 15): real processes killed and broken while dossiers go through their lives.

    .venv/bin/python -m bench.chaos                                  # the default (small) configuration
    .venv/bin/python -m bench.chaos --lifecycles 40 --kills 5 --window-kills 200    # the full one
    make chaos CHAOS_ARGS="--lifecycles 40 --kills 5"

The suite starts its own stack on free ports the way `make run` does (Temporal dev server on its own
SQLite file, the fake Zalo, the worker, the API under uvicorn) and, when the machine has PostgreSQL's
binaries, a private PostgreSQL on its own port and data folder as the database. Each scenario drives
lifecycles over HTTP like a TTHC system that retries (the same body, `event_id` and `Idempotency-Key`
after a 5xx, a 409 `idempotency-key-in-progress`, a timeout or a refused connection, honouring
`Retry-After`) while one kind of fault is injected: the worker killed (-9), the Temporal server killed
and restarted, Zalo answering 5xx, killed, stalled past the client's timeout, or accepting a message and
losing the answer, PostgreSQL restarted (immediate shutdown), the API killed mid-request.

Afterwards every dossier must reach its expected end (polled up to `--settle` seconds) and is checked: its
state, its timeline (each event once, in order), its notices (each once in the fake Zalo's journal and
sent or delivered in the delivery log), its payment, and its workflow (completed). One JSON line per
scenario, then a summary; the exit status is 1 on any loss, duplicate timeline entry, refused retry of an
applied change, HTTP 500, or a step given up. The `duplicate-window` scenarios measure how many notices
Zalo gets twice per 1,000 worker kills at random points, with and without delivery receipts.
docs/reliability.md explains the checks and keeps the latest figures.

One module over 400 lines because it is one tool: the stack it starts, the client it plays, the faults it
injects and the checks it makes share one run's state, and a reader follows a scenario through it whole.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, text

from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"))
ZALO_TIMEOUT = 2.0  # the worker's Zalo client timeout in the chaos stack (ZALO_TIMEOUT_SECONDS)
DONE_NOTICES = {"sent", "delivered"}
CLOSED = {"COMPLETED", "FAILED", "TERMINATED", "CANCELED", "TIMED_OUT"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 3)


# ------------------------------------------------------------------------------------------------ the stack


@dataclass
class Proc:
    """One supervised process: started in a session of its own, its output in a log file."""

    name: str
    argv: list[str]
    log: Path
    port: int | None = None
    process: asyncio.subprocess.Process | None = None
    expected_down: bool = False
    starts: int = 0
    unexpected_exits: int = 0


class Stack:
    """Temporal dev server, fake Zalo, worker, API (and a private PostgreSQL), each killable and restartable.

    A watchdog restarts a process that died without being killed on purpose (as Docker's restart policy
    would) and counts it: an unexpected exit is a finding.
    """

    def __init__(
        self, workdir: Path, *, postgres: bool, idempotency_pending_timeout: float | None = None
    ) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in ("temporal", "api", "zalo")}
        self.api_key = secrets.token_urlsafe(24)
        self.journal = self.dir / "fake_zalo.jsonl"
        self.use_postgres = postgres
        self.pg_dir: Path | None = None
        self.pg_port = free_port()
        # Production's own by default: what a client retrying after an API kill waits is part of the cost.
        self.idempotency_pending_timeout = idempotency_pending_timeout or float(
            Settings.model_fields["idempotency_pending_timeout_seconds"].default
        )
        self.procs: dict[str, Proc] = {}
        self._watchdog: asyncio.Task[None] | None = None

    # --- addresses ---

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def zalo_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['zalo']}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports['temporal']}"

    @property
    def database_url(self) -> str:
        if self.use_postgres:
            return f"postgresql+psycopg://postgres@127.0.0.1:{self.pg_port}/chaos"
        return f"sqlite+aiosqlite:///{self.dir / 'dossiers.db'}"

    def env(self) -> dict[str, str]:
        from scripts.run_local import LOCAL_OFFICERS

        drop = {"DATABASE_URL", "TEST_DATABASE_URL", "LOCAL_API_KEY", "PAYLOAD_KEYS"}
        return {k: v for k, v in os.environ.items() if k not in drop} | {
            "APP_ENV": "local",
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "PUBLIC_BASE_URL": self.api_url,
            "ZALO_MODE": "fake",
            "FAKE_ZALO_URL": self.zalo_url,
            "LOCAL_API_KEY": self.api_key,
            "LOCAL_OFFICER_PASSWORD": secrets.token_urlsafe(12),
            "OFFICER_ZALO_IDS": json.dumps(LOCAL_OFFICERS),
            # Notices go out at once whatever the hour; Zalo's calls and their claims stay short.
            "QUIET_HOURS_START": "00:00",
            "QUIET_HOURS_END": "00:00",
            "ZALO_TIMEOUT_SECONDS": str(ZALO_TIMEOUT),
            # The shortest lease the settings accept for this timeout (one attempt: OA, then ZNS).
            "ZALO_SEND_LEASE_SECONDS": str(2 * ZALO_TIMEOUT + 5),
            "IDEMPOTENCY_PENDING_TIMEOUT_SECONDS": str(self.idempotency_pending_timeout),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }

    # --- start and stop ---

    async def start(self) -> None:
        from db.migrate import upgrade
        from scripts.run_local import api_command, fake_zalo_command, sample_directory
        from workflows.search_attributes import cli_flags

        if self.use_postgres:
            await self._pg_init()
            await self.pg_start()
        await asyncio.to_thread(upgrade, self.database_url)
        await sample_directory(self.database_url)
        python = str(BIN / "python")
        self.procs = {
            "temporal": Proc(
                "temporal",
                [
                    str(BIN / "temporal"),
                    "server",
                    "start-dev",
                    "--ip",
                    "127.0.0.1",
                    "--port",
                    str(self.ports["temporal"]),
                    "--headless",
                    "--db-filename",
                    str(self.dir / "temporal.db"),
                    "--log-level",
                    "error",
                    *cli_flags(),
                ],
                self.dir / "temporal.log",
                port=self.ports["temporal"],
            ),
            "zalo": Proc(
                "zalo",
                fake_zalo_command(python, self.ports["zalo"], self.journal, self.ports["api"], self.dir),
                self.dir / "zalo.log",
                port=self.ports["zalo"],
            ),
            "worker": Proc("worker", [python, "worker.py"], self.dir / "worker.log"),
            "api": Proc(
                "api", api_command(python, self.ports["api"]), self.dir / "api.log", port=self.ports["api"]
            ),
        }
        for name in ("temporal", "zalo", "worker", "api"):
            await self.launch(name)
        self._watchdog = asyncio.create_task(self._watch())

    async def launch(self, name: str, *, wait: bool = True) -> None:
        proc = self.procs[name]
        with proc.log.open("ab") as log:
            proc.process = await asyncio.create_subprocess_exec(
                *proc.argv,
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        proc.starts += 1
        proc.expected_down = False
        if wait and proc.port is not None:
            await self._wait_port(proc)

    async def _wait_port(self, proc: Proc, seconds: float = 120.0) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", proc.port)
                writer.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{proc.name} did not open port {proc.port}; see {proc.log}") from None
                await asyncio.sleep(0.1)

    async def kill(self, name: str) -> None:
        """kill -9, the process group this stack started (nothing else)."""
        proc = self.procs[name]
        proc.expected_down = True
        process = proc.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def restart(self, name: str, *, down_for: float = 0.0) -> None:
        await self.kill(name)
        await asyncio.sleep(down_for)
        await self.launch(name)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for proc in self.procs.values():
                process = proc.process
                if process is not None and process.returncode is not None and not proc.expected_down:
                    proc.unexpected_exits += 1
                    print(
                        f"chaos: {proc.name} exited by itself (status {process.returncode}); restarting",
                        file=sys.stderr,
                        flush=True,
                    )
                    await self.launch(proc.name, wait=False)

    def unexpected_exits(self) -> dict[str, int]:
        return {p.name: p.unexpected_exits for p in self.procs.values() if p.unexpected_exits}

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        for name in ("api", "worker", "zalo", "temporal"):
            proc = self.procs.get(name)
            if proc is None or proc.process is None or proc.process.returncode is not None:
                continue
            proc.expected_down = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.process.wait(), timeout=15)
            except TimeoutError:
                await self.kill(name)
        if self.use_postgres and self.pg_dir is not None:
            await self._pg_ctl("stop", "-m", "fast", check=False)
            shutil.rmtree(self.pg_dir, ignore_errors=True)

    # --- a private PostgreSQL (initdb refuses root: run as the `postgres` user then) ---

    @staticmethod
    def postgres_available() -> bool:
        return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()

    def _as_pg_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]

    async def _run(self, argv: list[str], check: bool = True) -> int:
        log = self.dir / "postgres-ctl.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *self._as_pg_user(argv), stdout=out, stderr=asyncio.subprocess.STDOUT, cwd="/"
            )
            status = await process.wait()
        if check and status != 0:
            raise RuntimeError(f"{argv[0]} failed ({status}); see {log}")
        return status

    async def _pg_init(self) -> None:
        # Outside the work folder: a test's tmp_path is closed to the `postgres` user.
        self.pg_dir = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.pg_dir, "postgres", "postgres")
        await self._run(
            [
                str(PG_BIN / "initdb"),
                *("-D", str(self.pg_dir / "data"), "-U", "postgres", "-A", "trust", "--no-sync"),
            ]
        )

    async def _pg_ctl(self, *args: str, check: bool = True) -> int:
        assert self.pg_dir is not None
        options = f"-p {self.pg_port} -k {self.pg_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        argv = [str(PG_BIN / "pg_ctl"), "-D", str(self.pg_dir / "data"), "-l", str(self.pg_dir / "pg.log")]
        return await self._run([*argv, "-o", options, "-w", *args], check=check)

    async def pg_start(self) -> None:
        await self._pg_ctl("start")
        if not getattr(self, "_pg_created", False):
            await self._run(
                [
                    str(PG_BIN / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.pg_port),
                    "-U",
                    "postgres",
                    "chaos",
                ]
            )
            self._pg_created = True

    async def pg_crash(self) -> None:
        """An immediate shutdown: no checkpoint, clients cut off, recovery on the next start."""
        await self._pg_ctl("stop", "-m", "immediate")

    # --- the fake Zalo's control API and journal ---

    async def zalo_control(self, method: str, path: str, body: Any = None) -> None:
        async with httpx.AsyncClient(base_url=self.zalo_url, timeout=5) as http:
            for _ in range(50):
                try:
                    (await http.request(method, path, json=body)).raise_for_status()
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.2)  # being restarted

    async def zalo_faults_met(self, seconds: float = 90.0) -> None:
        """Wait until every injected Zalo fault has met a call (the notices' retries come to it)."""
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(base_url=self.zalo_url, timeout=5) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    if not [f for f in (await http.get("/_fake/faults")).json() if f["remaining"]]:
                        return
                await asyncio.sleep(0.5)

    def journal_messages(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        messages = []
        for line in self.journal.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("type") == "message":
                    messages.append(record["message"])
        return messages


# ------------------------------------------------------------------------------------------------ the client


@dataclass
class Stats:
    """What one scenario's client saw."""

    http_5xx: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    in_progress: int = 0
    latency: dict[str, list[float]] = field(default_factory=dict)
    refused_retries: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)


def problem_kind(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "not-json"
    kind = str(body.get("type", "")) if isinstance(body, dict) else ""
    if not kind or kind == "about:blank":
        return str(body.get("title", "?")) if isinstance(body, dict) else "?"
    return kind.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


class Moments:
    """Legal times: working days after a base six working days ago (see tests/support/builders.Moments):
    every event lies in the past and no deadline or escalation timer fires while the suite runs (the fee
    and pickup reminders may, when a fault delays the next step: TIMER_KINDS)."""

    def __init__(self) -> None:
        from domain.calendar import OfficeHours, WorkingCalendar

        self.calendar = WorkingCalendar(OfficeHours())
        now = datetime.now(UTC)
        self.base = self.calendar.add_working_time(self.calendar.clock_start(now), -6 * timedelta(hours=8))

    def __call__(self, working_days: float) -> str:
        return self.calendar.add_working_time(self.base, working_days * timedelta(hours=8)).isoformat()


# The two lives a dossier is driven through, and what each leaves: its timeline and its citizen notices.
VARIANTS: dict[str, dict[str, list[str]]] = {
    "supplement": {
        "timeline": [
            "received",
            "supplement_requested",
            "supplement_received",
            "fee_requested",
            "payment_received",
            "result_ready",
            "returned",
        ],
        "notices": [
            "received",
            "supplement_required",
            "supplement_received",
            "fee_due",
            "payment_confirmed",
            "result_ready",
        ],
    },
    "plain": {
        "timeline": ["received", "fee_requested", "payment_received", "result_ready", "returned"],
        "notices": ["received", "fee_due", "payment_confirmed", "result_ready"],
    },
}
# A timer may add its entries (and notices) when the legal times make them due: the fee was asked days
# ago, so its reminders (one per `FEE_REMINDER_WORKING_DAYS`) can fire before a delayed payment arrives, and
# the pickup reminder before the return. Allowed, never required; each at its own legal time, once.
TIMER_KINDS = frozenset({"pickup_reminder", "fee_reminder", "due_soon"})


@dataclass
class Lifecycle:
    code: str
    variant: str
    transaction_id: str
    steps_done: list[str] = field(default_factory=list)


class Driver:
    """A TTHC system's client: each step retried with the same body and Idempotency-Key until it lands."""

    def __init__(self, http: httpx.AsyncClient, stats: Stats, *, step_deadline: float) -> None:
        self.http = http
        self.stats = stats
        self.step_deadline = step_deadline

    async def step(self, name: str, path: str, body: dict[str, Any], expected: int = 200) -> bool:
        key = str(uuid.uuid4())
        started = time.monotonic()
        uncertain = False  # an earlier attempt may have been applied without our seeing the answer
        attempts = 0
        delay = 0.25
        while True:
            attempts += 1
            wait = delay
            try:
                response = await self.http.post(path, json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError as exc:
                self.stats.transport_errors[type(exc).__name__] += 1
                uncertain = True
            else:
                status = response.status_code
                if status == expected or (name == "register" and status == 200):
                    elapsed = time.monotonic() - started
                    self.stats.latency.setdefault(name, []).append(elapsed)
                    return True
                kind = problem_kind(response)
                if status >= 500:
                    self.stats.http_5xx[f"{status} {kind}"] += 1
                    uncertain = True
                elif status == 409 and kind == "idempotency-key-in-progress":
                    self.stats.in_progress += 1
                else:
                    detail = response.text[:300]
                    what = f"{path} {name}: {status} {kind} after {attempts} attempt(s): {detail}"
                    (self.stats.refused_retries if uncertain else self.stats.refused).append(what)
                    return False
                with contextlib.suppress(ValueError):
                    wait = max(wait, float(response.headers.get("Retry-After", "0")))
            if time.monotonic() - started > self.step_deadline:
                self.stats.given_up.append(f"{path} {name}: no answer in {self.step_deadline:.0f}s")
                return False
            await asyncio.sleep(wait * random.uniform(0.8, 1.2))
            delay = min(delay * 2, 3.0)

    async def lifecycle(self, life: Lifecycle) -> None:
        t = Moments()
        code = life.code
        registration = {
            "code": code,
            "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
            "agency_code": code.split("-")[0],
            "applicant": {"name": "Nguyễn Văn A", "phone": "0905123456", "zalo_user_id": None},
            "received_at": t(0),
            "channel": "online",
        }
        base = f"/api/v1/dossiers/{code}"
        steps: list[tuple[str, str, dict[str, Any], int]] = [
            ("register", "/api/v1/dossiers", registration, 201)
        ]
        if life.variant == "supplement":
            steps += [
                (
                    "supplement-request",
                    f"{base}/supplement-request",
                    {"event_id": f"{code}-s1", "at": t(0.5), "items": ["Bản vẽ mặt bằng"]},
                    200,
                ),
                ("supplement", f"{base}/supplement", {"event_id": f"{code}-s2", "at": t(1)}, 200),
            ]
        steps += [
            (
                "fee",
                f"{base}/fee",
                {
                    "event_id": f"{code}-f",
                    "at": t(2),
                    "items": [{"name": "Lệ phí", "amount_vnd": 1250000}],
                    "pay_within_days": 5,
                },
                200,
            ),
            (
                "payment",
                f"{base}/payment",
                {"transaction_id": life.transaction_id, "amount_vnd": 1250000, "at": t(2.5)},
                200,
            ),
            (
                "result",
                f"{base}/result",
                {"event_id": f"{code}-r", "at": t(3), "pickup": {"place": "Quầy số 3"}},
                200,
            ),
            ("return", f"{base}/return", {"event_id": f"{code}-x", "at": t(4), "to": "Chủ hồ sơ"}, 200),
        ]
        for name, path, body, expected in steps:
            if not await self.step(name, path, body, expected):
                return
            life.steps_done.append(name)
            await asyncio.sleep(random.uniform(0.0, 0.3))


# ------------------------------------------------------------------------------------------------ the checks


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # timeline entries
    notice_duplicates: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # an unexpected state, timeline or workflow status
    events: int = 0  # timeline entries checked
    notices: int = 0  # delivery-log rows checked


QUERIES = {
    "dossiers": "SELECT code, status FROM dossiers WHERE code IN :codes",
    "events": "SELECT dossier_code, seq, kind, event_id, at FROM dossier_events WHERE dossier_code IN :codes"
    " ORDER BY dossier_code, seq",
    "notices": "SELECT dossier_code, key, kind, status, channel, tracking_id, recipient, text FROM notices"
    " WHERE dossier_code IN :codes",
    "payments": "SELECT dossier_code, transaction_id, outcome FROM payments WHERE dossier_code IN :codes",
}


async def read_rows(database_url: str, codes: list[str]) -> dict[str, list[Any]]:
    """The projection of these dossiers: their rows, timeline, delivery log and payments."""
    from db.engine import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {
                name: list(
                    (
                        await conn.execute(
                            text(sql).bindparams(bindparam("codes", expanding=True)), {"codes": codes}
                        )
                    ).all()
                )
                for name, sql in QUERIES.items()
            }
    finally:
        await engine.dispose()


async def workflow_statuses(address: str, codes: list[str]) -> dict[str, str]:
    from temporalio.client import Client

    client = await Client.connect(address)
    found: dict[str, str] = {}
    for code in codes:
        try:
            described = await client.get_workflow_handle(f"dossier-{code}").describe()
            found[code] = described.status.name if described.status is not None else "UNKNOWN"
        except Exception as exc:
            found[code] = f"unreadable: {type(exc).__name__}"
    return found


# A returned dossier's workflow waits for the citizen's rating (up to RATING_WINDOW_DAYS, a timer) before
# it completes; the chaos client does not rate, so RUNNING is its expected end as well as COMPLETED.
SETTLED = {"COMPLETED", "RUNNING"}


def expected_final(life: Lifecycle) -> str:
    return "returned" if life.steps_done and life.steps_done[-1] == "return" else "?"


async def settle(stack: Stack, lives: list[Lifecycle], seconds: float) -> float:
    """Wait until every dossier reached its end and every notice left; how long it took. Once every
    workflow has closed nothing will change any more: 15 s later the wait ends, whatever it found."""
    started = time.monotonic()
    codes = [life.code for life in lives]
    closed_since: float | None = None
    while True:
        try:
            rows = await read_rows(stack.database_url, codes)
            ended = {code for code, status in rows["dossiers"] if status == "returned"}
            pending = {r.dossier_code for r in rows["notices"] if r.status not in DONE_NOTICES}
            statuses = await workflow_statuses(stack.temporal_address, codes)
            done = all(
                life.code in ended and life.code not in pending and statuses.get(life.code) in SETTLED
                for life in lives
                if expected_final(life) == "returned"
            )
            closed = all(status in CLOSED for status in statuses.values())
        except Exception:
            done = closed = False  # a process being restarted
        closed_since = (closed_since or time.monotonic()) if closed else None
        stuck = closed_since is not None and time.monotonic() - closed_since > 15
        if done or stuck or time.monotonic() - started > seconds:
            return round(time.monotonic() - started, 1)
        await asyncio.sleep(1.0)


async def check(stack: Stack, lives: list[Lifecycle]) -> Findings:
    findings = Findings()
    codes = [life.code for life in lives]
    rows = await read_rows(stack.database_url, codes)
    statuses = await workflow_statuses(stack.temporal_address, codes)
    journal = stack.journal_messages()
    zns_by_tracking = Counter(m.get("tracking_id") for m in journal if m.get("channel") == "zns")
    oa_by_text = Counter((m.get("user_id"), m.get("text")) for m in journal if m.get("channel") == "oa")
    state = dict(rows["dossiers"])
    for life in lives:
        code = life.code
        if expected_final(life) != "returned":
            findings.wrong.append(f"{code}: the client stopped after {life.steps_done}")
            continue
        if code not in state:
            findings.lost.append(f"{code}: no dossier row")
            continue
        if state[code] != "returned":
            findings.wrong.append(f"{code}: state {state[code]}, expected returned")
        events = [e for e in rows["events"] if e.dossier_code == code]
        findings.events += len(events)
        kinds = [e.kind for e in events]
        expected = VARIANTS[life.variant]["timeline"]
        once = Counter((e.kind, e.at if e.kind in TIMER_KINDS else None) for e in events)
        for (kind, at), n in once.items():
            if n > 1:
                findings.duplicates.append(f"{code}: timeline {kind}{f' at {at}' if at else ''} ×{n}")
        missing = [k for k in expected if k not in kinds]
        if missing:
            findings.lost.append(f"{code}: timeline lacks {missing}")
        elif [k for k in kinds if k not in TIMER_KINDS] != expected:
            findings.wrong.append(f"{code}: timeline {kinds}")
        notices = [n for n in rows["notices"] if n.dossier_code == code]
        findings.notices += len(notices)
        missing = sorted(set(VARIANTS[life.variant]["notices"]) - {n.kind for n in notices})
        if missing:
            findings.lost.append(f"{code}: no {missing} notice in the delivery log")
        for n in notices:
            if n.status not in DONE_NOTICES:
                findings.lost.append(f"{code}: notice {n.kind} is {n.status}")
                continue
            seen = zns_by_tracking[n.tracking_id] if n.channel == "zns" else oa_by_text[(n.recipient, n.text)]
            if seen == 0:
                findings.lost.append(f"{code}: notice {n.kind} {n.status} but not in Zalo's journal")
            elif seen > 1:
                findings.notice_duplicates.append(f"{code}: notice {n.kind} reached Zalo ×{seen}")
        payments = [p for p in rows["payments"] if p.dossier_code == code]
        if [(p.transaction_id, p.outcome) for p in payments] != [(life.transaction_id, "applied")]:
            findings.wrong.append(f"{code}: payments {[tuple(p) for p in payments]}")
        if statuses.get(code) not in SETTLED:
            findings.wrong.append(f"{code}: workflow {statuses.get(code)}")
    return findings


# ------------------------------------------------------------------------------------------------ scenarios


@dataclass
class Config:
    lifecycles: int = 3
    kills: int = 1
    concurrency: int = 4
    window_kills: int = 6
    settle: float = 240.0
    step_deadline: float = 150.0
    scenarios: list[str] | None = None
    postgres: bool = True
    seed: int | None = None


Injector = Callable[[Stack, int, "Outcome"], Coroutine[Any, Any, None]]


@dataclass
class Outcome:
    scenario: str
    lives: list[Lifecycle]
    stats: Stats
    kills: int = 0
    skipped: str | None = None
    faults_unused: int = 0  # injected Zalo faults no call met (the injection missed)
    drive_s: float = 0.0


async def _gap(low: float = 0.3, high: float = 1.5) -> None:
    await asyncio.sleep(random.uniform(low, high))


async def inject_worker_kill(stack: Stack, kills: int, out: Outcome) -> None:
    for _ in range(kills):
        await _gap()
        await stack.restart("worker", down_for=random.uniform(0.2, 1.5))
        out.kills += 1


async def inject_temporal_kill(stack: Stack, kills: int, out: Outcome) -> None:
    for _ in range(kills):
        await _gap()
        await stack.restart("temporal", down_for=random.uniform(0.5, 2.0))
        out.kills += 1


async def inject_api_kill(stack: Stack, kills: int, out: Outcome) -> None:
    for _ in range(kills):
        await _gap()
        await stack.restart("api", down_for=random.uniform(0.2, 1.0))
        out.kills += 1


async def inject_zalo_kill(stack: Stack, kills: int, out: Outcome) -> None:
    for _ in range(kills):
        await _gap(0.2, 1.0)
        await stack.restart("zalo", down_for=random.uniform(1.0, 3.0))
        out.kills += 1


async def inject_zalo_5xx(stack: Stack, kills: int, out: Outcome) -> None:
    for _ in range(kills):
        await _gap(0.1, 0.5)
        await stack.zalo_control("POST", "/_fake/faults", {"http_status": 503, "seconds": 4})
        out.kills += 1
        await asyncio.sleep(4)


async def inject_zalo_stall(stack: Stack, kills: int, out: Outcome) -> None:
    # Stalled beyond the client's timeout, then a gateway timeout: the message was not taken.
    for _ in range(kills):
        await _gap(0.1, 0.5)
        spec = {"target": "zns", "stall_seconds": ZALO_TIMEOUT + 1, "http_status": 504, "count": 2}
        await stack.zalo_control("POST", "/_fake/faults", spec)
        out.kills += 1
        await stack.zalo_faults_met()


async def inject_zalo_lost_answer(stack: Stack, kills: int, out: Outcome) -> None:
    # Zalo takes the message, the answer is lost: as a 502, and by answering past the client's timeout.
    for _ in range(kills):
        await _gap(0.1, 0.5)
        lost: dict[str, Any] = {"target": "zns", "lose_answer": True}
        await stack.zalo_control("POST", "/_fake/faults", lost | {"http_status": 502})
        await stack.zalo_control("POST", "/_fake/faults", lost | {"stall_seconds": ZALO_TIMEOUT + 1})
        out.kills += 1
        await stack.zalo_faults_met()


async def inject_postgres_restart(stack: Stack, kills: int, out: Outcome) -> None:
    for _ in range(kills):
        await _gap(0.3, 1.2)
        await stack.pg_crash()
        await asyncio.sleep(random.uniform(0.5, 2.0))
        await stack.pg_start()
        out.kills += 1


def inject_window(receipts: bool) -> Injector:
    async def inject(stack: Stack, kills: int, out: Outcome) -> None:
        await stack.zalo_control("PUT", "/_fake/receipts", {"enabled": receipts})
        try:
            for _ in range(kills):
                await _gap(2.0, 8.0)  # the restarted worker is polling and sending again
                await stack.restart("worker", down_for=0.1)
                out.kills += 1
        finally:
            await stack.zalo_control("PUT", "/_fake/receipts", {"enabled": True})

    return inject


SCENARIOS: dict[str, Injector | None] = {
    "baseline": None,
    "worker-kill": inject_worker_kill,
    "temporal-kill": inject_temporal_kill,
    "zalo-5xx": inject_zalo_5xx,
    "zalo-killed": inject_zalo_kill,
    "zalo-stall": inject_zalo_stall,
    "zalo-lost-answer": inject_zalo_lost_answer,
    "postgres-restart": inject_postgres_restart,
    "api-kill": inject_api_kill,
    "duplicate-window-no-receipts": inject_window(receipts=False),
    "duplicate-window-receipts": inject_window(receipts=True),
}


async def drive(stack: Stack, scenario: str, config: Config, run_id: str, serial: list[int]) -> Outcome:
    injector = SCENARIOS[scenario]
    window = scenario.startswith("duplicate-window")
    kills = config.window_kills if window else config.kills
    out = Outcome(scenario, [], Stats())

    def new_life() -> Lifecycle:
        serial[0] += 1
        code = f"H21.65-{datetime.now(UTC):%y%m%d}-{serial[0]:04d}"  # a fresh stack: no code taken
        variant = "supplement" if serial[0] % 2 else "plain"
        life = Lifecycle(code, variant, f"VNP-{run_id}-{serial[0]}")
        out.lives.append(life)
        return life

    if scenario == "postgres-restart" and not stack.use_postgres:
        out.skipped = (
            f"no PostgreSQL binaries in {PG_BIN}" if not Stack.postgres_available() else "--no-postgres"
        )
        return out
    gate = asyncio.Semaphore(config.concurrency)
    async with httpx.AsyncClient(
        # Longer than the API's own wait for the workflow (the gateway's 30 s), as a TTHC client should be.
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=40,
    ) as http:
        driver = Driver(http, out.stats, step_deadline=config.step_deadline)

        async def one(life: Lifecycle) -> None:
            async with gate:
                await driver.lifecycle(life)

        async def feed(injecting: asyncio.Task[None]) -> None:
            # The window scenarios keep notices flowing for as long as the kills go on.
            async def lane() -> None:
                while not injecting.done():
                    await driver.lifecycle(new_life())

            await asyncio.gather(*(lane() for _ in range(config.concurrency)))

        if injector is None:
            await asyncio.gather(*(one(new_life()) for _ in range(config.lifecycles)))
        elif window:
            injecting = asyncio.create_task(injector(stack, kills, out))
            await asyncio.gather(feed(injecting), injecting)
        else:
            driving = asyncio.gather(*(one(new_life()) for _ in range(config.lifecycles)))
            await asyncio.sleep(0.3)
            await injector(stack, kills, out)
            await driving
        async with httpx.AsyncClient(base_url=stack.zalo_url, timeout=5) as zalo:
            with contextlib.suppress(httpx.HTTPError):
                left = (await zalo.get("/_fake/faults")).json()
                out.faults_unused = sum(f["remaining"] or 0 for f in left)
    await stack.zalo_control("DELETE", "/_fake/faults")
    return out


def report(out: Outcome, findings: Findings | None, settle_s: float, exits: dict[str, int]) -> dict[str, Any]:
    if out.skipped:
        return {"scenario": out.scenario, "skipped": out.skipped, "ok": True}
    assert findings is not None
    s = out.stats
    http_500 = sum(n for key, n in s.http_5xx.items() if key.startswith("500"))
    failures = (
        len(findings.lost)
        + len(findings.duplicates)
        + len(findings.wrong)
        + len(s.refused_retries)
        + len(s.refused)
        + len(s.given_up)
        + http_500
    )
    line: dict[str, Any] = {
        "scenario": out.scenario,
        "lifecycles": len(out.lives),
        "kills": out.kills,
        "events_checked": findings.events,
        "notices_checked": findings.notices,
        "lost": len(findings.lost),
        "duplicates": len(findings.duplicates),
        "notice_duplicates": len(findings.notice_duplicates),
        "refused_retries": len(s.refused_retries),
        "refused": len(s.refused),
        "given_up": len(s.given_up),
        "wrong": len(findings.wrong),
        "http_500": http_500,
        "http_5xx": dict(s.http_5xx),
        "transport_errors": dict(s.transport_errors),
        "in_progress_409": s.in_progress,
        "unexpected_exits": exits,
        "latency_s": {
            step: {"n": len(v), "p50": percentile(v, 0.5), "p99": percentile(v, 0.99)}
            for step, v in s.latency.items()
        },
        # The p99 of every step, retries included: what a fault costs the TTHC system (vs the baseline).
        "kill_cost_p99_s": percentile([x for v in s.latency.values() for x in v], 0.99),
        "zalo_faults_unused": out.faults_unused,
        "drive_s": out.drive_s,
        "settle_s": settle_s,
        "ok": failures == 0,
    }
    if out.scenario.startswith("duplicate-window"):
        line["notice_duplicates_per_1000_kills"] = round(
            1000 * len(findings.notice_duplicates) / max(out.kills, 1), 1
        )
    problems = (
        findings.lost
        + findings.duplicates
        + findings.wrong
        + s.refused_retries
        + s.refused
        + s.given_up
        + findings.notice_duplicates
    )
    if problems:
        line["examples"] = problems[:5]
    return line


async def run(
    config: Config, workdir: Path, emit: Callable[[dict[str, Any]], None] = print
) -> dict[str, Any]:
    """Run the scenarios on one stack; the summary (each scenario's line is emitted as it is known)."""
    if config.seed is not None:
        random.seed(config.seed)
    names = config.scenarios or list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {sorted(unknown)}; known: {list(SCENARIOS)}")
    stack = Stack(workdir, postgres=config.postgres and Stack.postgres_available())
    started = time.monotonic()
    lines: list[dict[str, Any]] = []
    try:
        await stack.start()
        run_id = f"{random.randrange(10**6):06d}"
        serial = [0]
        outcomes = []
        exits_before: dict[str, int] = {}
        for name in names:
            began = time.monotonic()
            out = await drive(stack, name, config, run_id, serial)
            out.drive_s = round(time.monotonic() - began, 1)
            exits = stack.unexpected_exits()
            out_exits = {
                k: v - exits_before.get(k, 0) for k, v in exits.items() if v - exits_before.get(k, 0)
            }
            exits_before = exits
            outcomes.append((out, out_exits))
        # Every scenario's dossiers settle together: the early ones while the later ones ran.
        everyone = [life for out, _ in outcomes for life in out.lives]
        settle_s = await settle(stack, everyone, config.settle)
        for out, exits in outcomes:
            findings = await check(stack, out.lives) if not out.skipped else None
            line = report(out, findings, settle_s, exits)
            lines.append(line)
            emit(line)
    finally:
        await stack.stop()
    ran = [line for line in lines if not line.get("skipped")]
    window = [line for line in ran if line["scenario"].startswith("duplicate-window")]
    summary: dict[str, Any] = {
        "summary": True,
        "scenarios": len(ran),
        "skipped": [line["scenario"] for line in lines if line.get("skipped")],
        "lifecycles": sum(line["lifecycles"] for line in ran),
        "kills": sum(line["kills"] for line in ran),
        **{
            key: sum(line[key] for line in ran)
            for key in ("lost", "duplicates", "notice_duplicates", "refused_retries", "refused", "given_up")
        },
        "wrong": sum(line["wrong"] for line in ran),
        "http_500": sum(line["http_500"] for line in ran),
        "http_5xx": dict(sum((Counter(line["http_5xx"]) for line in ran), Counter())),
        "kill_cost_p99_s": max((line["kill_cost_p99_s"] for line in ran), default=0.0),
        "duplicate_window": {
            line["scenario"]: {
                "kills": line["kills"],
                "notice_duplicates": line["notice_duplicates"],
                "per_1000_kills": line["notice_duplicates_per_1000_kills"],
            }
            for line in window
        },
        "database": "postgresql" if stack.use_postgres else "sqlite",
        "seconds": round(time.monotonic() - started, 1),
        "failed": [line["scenario"] for line in ran if not line["ok"]],
        "ok": all(line["ok"] for line in ran),
    }
    emit(summary)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=Config.lifecycles, help="per scenario")
    parser.add_argument("--kills", type=int, default=Config.kills, help="faults injected per scenario")
    parser.add_argument("--concurrency", type=int, default=Config.concurrency)
    parser.add_argument(
        "--window-kills", type=int, default=Config.window_kills, help="worker kills per duplicate-window run"
    )
    parser.add_argument("--settle", type=float, default=Config.settle, help="seconds to wait for the ends")
    parser.add_argument("--scenario", action="append", dest="scenarios", choices=list(SCENARIOS))
    parser.add_argument("--no-postgres", dest="postgres", action="store_false", help="SQLite instead")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, journal, databases)")
    args = parser.parse_args(argv)
    config = Config(
        lifecycles=args.lifecycles,
        kills=args.kills,
        concurrency=args.concurrency,
        window_kills=args.window_kills,
        settle=args.settle,
        scenarios=args.scenarios,
        postgres=args.postgres,
        seed=args.seed,
    )
    os.environ.setdefault("APP_ENV", "local")
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))

    def emit(line: dict[str, Any]) -> None:
        print(json.dumps(line, ensure_ascii=False), flush=True)

    summary = asyncio.run(run(config, workdir, emit))
    if args.keep:
        print(f"chaos: work folder kept: {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
