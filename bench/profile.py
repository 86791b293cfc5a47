"""Where a transition's work goes: workflow tasks, local activities, activities, database transactions.

    .venv/bin/python -m bench.profile                       # SQLite file, 3 dossiers × 7 transitions
    .venv/bin/python -m bench.profile --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

One Temporal dev server (in memory) and the fake Zalo run as processes; the API (create_app, through
httpx's ASGI transport) and the worker (build_worker) run in this process, each on its own engine, so every
database transaction is counted for the side that made it. The dossiers are driven one transition at a
time over HTTP with an `Idempotency-Key` (as a careful TTHC system sends it); after each answer the
profile waits until the worker is idle (the notice sent), then counts what that transition cost:

- from the workflow's history: workflow tasks, local-activity markers, activity tasks, timers;
- from an activity interceptor: each (local) activity by type, its count and time;
- from SQLAlchemy events on the API's and the worker's engines: transactions, by the first table each
  transaction touches (the table says whose work it is: idempotency_keys, api_clients, dossiers, …).

Prints a JSON line per transition kind (mean over the dossiers) and a Markdown table for docs/performance.md.
Counts do not depend on the machine; the times do (compare them only within one run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from bench.transitions import (
    free_port,
    fresh_database,
    lifecycle,
    registration,
    stack_env,
    start_fake_zalo,
    start_temporal,
    wait_port,
)

STEPS = ["register", *[path for path, _ in lifecycle(lambda d: "", "x")]]
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


@dataclass
class Tally:
    """What one side did: transactions by their first table, statements, activities by type."""

    transactions: Counter[str] = field(default_factory=Counter)
    statements: int = 0
    activities: Counter[str] = field(default_factory=Counter)
    activity_seconds: Counter[str] = field(default_factory=Counter)
    db_seconds: float = 0.0

    def copy(self) -> Tally:
        return Tally(
            Counter(self.transactions),
            self.statements,
            Counter(self.activities),
            Counter(self.activity_seconds),
            self.db_seconds,
        )

    def minus(self, other: Tally) -> Tally:
        return Tally(
            self.transactions - other.transactions,
            self.statements - other.statements,
            self.activities - other.activities,
            self.activity_seconds - other.activity_seconds,
            self.db_seconds - other.db_seconds,
        )


TALLIES = {"api": Tally(), "worker": Tally()}


def count_transactions(engine: AsyncEngine, side: str) -> None:
    """Count the engine's transactions (by the first table each touches) and statements for `side`."""
    tally = TALLIES[side]
    open_since: dict[int, float] = {}
    first_table: dict[int, str | None] = {}

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        open_since[id(conn)] = time.perf_counter()
        first_table[id(conn)] = None

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _statement(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        tally.statements += 1
        if first_table.get(id(conn)) is None and not statement.startswith("BEGIN"):
            found = _TABLE.search(statement)
            first_table[id(conn)] = found.group(1) if found else "other"

    def _end(conn: Any) -> None:
        started = open_since.pop(id(conn), None)
        if started is not None:
            tally.db_seconds += time.perf_counter() - started
            tally.transactions[first_table.pop(id(conn), None) or "empty"] += 1

    event.listen(engine.sync_engine, "commit", _end)
    event.listen(engine.sync_engine, "rollback", _end)


class _Timed(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        name = f"{'local ' if info.is_local else ''}{info.activity_type}"
        started = time.perf_counter()
        try:
            return await super().execute_activity(input)
        finally:
            TALLIES["worker"].activities[name] += 1
            TALLIES["worker"].activity_seconds[name] += time.perf_counter() - started  # type: ignore[assignment]


class TimeActivities(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Timed(next)


def snapshot() -> dict[str, Tally]:
    return {side: tally.copy() for side, tally in TALLIES.items()}


async def idle(seconds: float = 0.4, limit: float = 30) -> None:
    """Wait until neither side has touched the database for `seconds` (the notice is sent)."""
    deadline = time.monotonic() + limit
    last = (-1, -1)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        now = (TALLIES["api"].statements, TALLIES["worker"].statements)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= seconds:
            return
        await asyncio.sleep(0.05)


def history_segments(events: list[Any]) -> Iterator[Counter[str]]:
    """The history cut before the workflow task of each accepted update: what each update (and what
    followed it: the notice's send, a timer that came due) cost."""
    cuts = []
    for n, e in enumerate(events):
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            start = n
            while start > 0 and events[start].event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                start -= 1
            cuts.append(start)
    for start, end in zip(cuts, [*cuts[1:], len(events)], strict=True):
        segment: Counter[str] = Counter()
        for e in events[start:end]:
            segment["history_events"] += 1
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                segment["workflow_tasks"] += 1
            elif e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                name = e.marker_recorded_event_attributes.marker_name
                segment["local_activities" if "local_activity" in name else f"marker {name}"] += 1
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                segment["activity_tasks"] += 1
            elif e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                segment["timers_started"] += 1
            elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                segment["workflow_task_timeouts"] += 1
            elif e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
                segment["search_attribute_upserts"] += 1
        yield segment


@asynccontextmanager
async def in_process(settings: Any, client: Client) -> Any:
    """The worker and the API in this process, each on its own counted engine."""
    from db.engine import engine_for, make_session_factory
    from server import create_app
    from worker import build_worker

    worker_engine, api_engine = engine_for(settings), engine_for(settings)
    count_transactions(worker_engine, "worker")
    count_transactions(api_engine, "api")
    app = create_app(settings, temporal=client, session_factory=make_session_factory(api_engine))
    async with (
        httpx.AsyncClient(timeout=settings.zalo_timeout_seconds) as zalo_http,
        app.router.lifespan_context(app),
        build_worker(
            client,
            settings,
            make_session_factory(worker_engine),
            zalo_http,
            interceptors=[TimeActivities()],
        ),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as api,
    ):
        yield api
    await worker_engine.dispose()
    await api_engine.dispose()


async def drive(api: httpx.AsyncClient, key: str, dossiers: int, idempotency: bool) -> tuple[Any, list[str]]:
    from tests.support.builders import Moments

    t = Moments()
    per_step: dict[str, list[dict[str, Any]]] = defaultdict(list)
    codes = []

    def iso(days: float) -> str:
        return t(days).isoformat()

    for i in range(dossiers):
        code = f"P{i:03d}.{uuid.uuid4().hex[:4].upper()}-261123-{i:04d}"
        codes.append(code)
        calls = [("register", "/api/v1/dossiers", registration(iso, code))] + [
            (path, f"/api/v1/dossiers/{code}/{path}", payload) for path, payload in lifecycle(iso, code)
        ]
        for step, url, payload in calls:
            await idle()
            before = snapshot()
            headers = {"Authorization": f"Bearer {key}"}
            if idempotency:
                headers["Idempotency-Key"] = uuid.uuid4().hex
            started = time.perf_counter()
            response = await api.post(url, json=payload, headers=headers)
            answered = time.perf_counter() - started
            response.raise_for_status()
            at_answer = snapshot()
            await idle()
            after = snapshot()
            per_step[step].append(
                {
                    "answer_s": answered,
                    "until_answer": {s: at_answer[s].minus(before[s]) for s in TALLIES},
                    "total": {s: after[s].minus(before[s]) for s in TALLIES},
                }
            )
    return per_step, codes


def report(per_step: dict[str, list[dict[str, Any]]], segments: dict[str, list[Counter[str]]]) -> None:
    rows = []
    for step in STEPS:
        runs = per_step[step]
        n = len(runs)

        def mean(values: list[float]) -> float:
            return sum(values) / len(values) if values else 0.0

        api_tx: Counter[str] = Counter()
        worker_tx: Counter[str] = Counter()
        worker_tx_before_answer: Counter[str] = Counter()
        acts: Counter[str] = Counter()
        act_s: Counter[str] = Counter()
        for r in runs:
            api_tx.update(r["total"]["api"].transactions)
            worker_tx.update(r["total"]["worker"].transactions)
            worker_tx_before_answer.update(r["until_answer"]["worker"].transactions)
            acts.update(r["total"]["worker"].activities)
            act_s.update(r["total"]["worker"].activity_seconds)
        hist: Counter[str] = Counter()
        for seg in segments[step]:
            hist.update(seg)
        line = {
            "step": step,
            "dossiers": n,
            "answer_ms": round(1000 * mean([r["answer_s"] for r in runs]), 1),
            "history": {k: round(v / max(1, len(segments[step])), 2) for k, v in hist.items()},
            "activities": {k: round(v / n, 2) for k, v in sorted(acts.items())},
            "activity_ms": {k: round(1000 * act_s[k] / max(1, acts[k]), 1) for k in sorted(acts)},
            "api_transactions": {k: round(v / n, 2) for k, v in sorted(api_tx.items())},
            "worker_transactions": {k: round(v / n, 2) for k, v in sorted(worker_tx.items())},
            "worker_transactions_before_answer": round(sum(worker_tx_before_answer.values()) / n, 2),
            "api_db_ms": round(1000 * mean([r["total"]["api"].db_seconds for r in runs]), 1),
            "worker_db_ms": round(1000 * mean([r["total"]["worker"].db_seconds for r in runs]), 1),
        }
        rows.append(line)
        print(json.dumps(line, ensure_ascii=False))
    print()
    print("| transition | answer ms | WFTs | local acts | activities | calendar calls | API tx | worker tx |")
    print("|---|---|---|---|---|---|---|---|")
    totals: Counter[str] = Counter()
    for line in rows:
        calendar = sum(v for k, v in line["activities"].items() if "calendar" in k)
        values = {
            "WFTs": line["history"].get("workflow_tasks", 0),
            "local": line["history"].get("local_activities", 0),
            "acts": line["history"].get("activity_tasks", 0),
            "calendar": calendar,
            "api": sum(line["api_transactions"].values()),
            "worker": sum(line["worker_transactions"].values()),
        }
        totals.update(values)
        print(
            f"| {line['step']} | {line['answer_ms']} | {values['WFTs']:g} | {values['local']:g} | "
            f"{values['acts']:g} | {values['calendar']:g} | {values['api']:g} | {values['worker']:g} |"
        )
    n = len(rows)
    print(
        "| **mean per transition** | | "
        + " | ".join(f"{totals[k] / n:.2f}" for k in ("WFTs", "local", "acts", "calendar", "api", "worker"))
        + " |"
    )


async def main(args: argparse.Namespace) -> None:
    from db.migrate import upgrade
    from settings import Settings
    from workflows.client import connect

    ports = {name: free_port() for name in ("temporal", "zalo")}
    processes: list[asyncio.subprocess.Process] = []
    with tempfile.TemporaryDirectory() as tmp:
        database_url = await fresh_database(args.database_url, Path(tmp))
        await asyncio.to_thread(upgrade, database_url)
        key = "bench-" + uuid.uuid4().hex
        queue = f"profile-{uuid.uuid4().hex[:8]}"
        env = {**stack_env(database_url, ports["temporal"], ports["zalo"], queue), "LOCAL_API_KEY": key}
        try:
            processes.append(await start_temporal(ports["temporal"]))
            processes.append(await start_fake_zalo(ports["zalo"], {**os.environ, **env}))
            await wait_port(ports["temporal"])
            await wait_port(ports["zalo"])
            settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[call-arg]
            client = await connect(settings, attempts=30)
            async with in_process(settings, client) as api:
                per_step, codes = await drive(api, key, args.dossiers, not args.no_idempotency_key)
            segments: dict[str, list[Counter[str]]] = defaultdict(list)
            for code in codes:
                history = await client.get_workflow_handle(f"dossier-{code}").fetch_history()
                for step, segment in zip(STEPS, history_segments(list(history.events)), strict=False):
                    segments[step].append(segment)
            report(per_step, segments)
        finally:
            for process in reversed(processes):
                with suppress(ProcessLookupError):
                    process.terminate()
                with suppress(Exception):
                    await asyncio.wait_for(process.wait(), timeout=20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--no-idempotency-key", action="store_true")
    asyncio.run(main(parser.parse_args()))
