"""The import of open dossiers (`python -m admin.dossiers import`) timed on 10,000 dossiers.

    .venv/bin/python -m bench.import_rate                          # SQLite, in-memory dev server
    .venv/bin/python -m bench.import_rate --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.import_rate --write FILE --dossiers 500   # only write a file to import

A Temporal dev server (in memory), the fake Zalo and the real worker are started in their own processes,
the database is migrated and given the sample catalogue and agency directory; then the CLI is run as an
administrator would, in its own process:

  first    the whole file (every open state, their past events; one in six overdue already);
  second   the same file again: nothing to start, everything "already imported";
  resumed  another file of `--resume-dossiers`, the CLI killed (SIGKILL) after `--kill-after` seconds,
           then run again: how many the first run had done, and what the second did.

Afterwards every dossier of both files must have its row and its workflow (counted in Temporal's
visibility). Prints one JSON line per run. Numbers depend on the machine (and its other load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.transitions import (
    ROOT,
    free_port,
    fresh_database,
    spawn,
    stack_env,
    start_fake_zalo,
    start_temporal,
    wait_port,
)
from domain.calendar import OfficeHours, WorkingCalendar

CALENDAR = WorkingCalendar(OfficeHours())
DAY = timedelta(hours=8)
DEPLOY = ROOT / "deploy"
NAMES = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường", "Phạm Thị Dung", "Võ Minh Đức", "Huỳnh Thị Hoa"]


def procedures() -> list[dict[str, Any]]:
    """The sample catalogue's procedures: code, name, working days."""
    data = json.loads((DEPLOY / "procedures.sample.json").read_text(encoding="utf-8"))
    return [
        {"code": p["code"], "name": p["name"], "working_days": p["working_days"]} for p in data["procedures"]
    ]


def dossier(
    serial: int, day: str, now: datetime, rng: random.Random, catalogue: list[dict[str, Any]]
) -> dict[str, Any]:
    """One open dossier as the TTHC system would export it, its events in the past."""
    procedure = rng.choice(catalogue)
    start = CALENDAR.clock_start(now)
    age = rng.uniform(1.5, 25)  # working days since receipt
    received = CALENDAR.add_working_time(start, -age * DAY)

    def at(share: float) -> str:
        return CALENDAR.add_working_time(received, share * age * DAY).isoformat()

    due = CALENDAR.due_at(received, procedure["working_days"])
    state = rng.choices(["received", "supplement_required", "fee_due", "result_ready"], [50, 15, 15, 20])[0]
    events: list[dict[str, Any]] = []
    code = f"H21.65-{day}-{serial:05d}"
    if state == "received" and rng.random() < 0.3:
        events = [
            {"kind": "supplement_requested", "at": at(0.2), "items": ["Bản sao CCCD", "Bản vẽ mặt bằng"]},
            {"kind": "supplement_received", "at": at(0.4)},
        ]
        due = CALENDAR.due_at(datetime.fromisoformat(at(0.4)), procedure["working_days"])
    elif state == "supplement_required":
        events = [{"kind": "supplement_requested", "at": at(0.3), "items": ["Tờ khai có chữ ký"]}]
    elif state == "fee_due":
        events = [
            {"kind": "fee_requested", "at": at(0.9), "items": [{"name": "Lệ phí", "amount_vnd": 100_000}]}
        ]
    elif state == "result_ready":
        events = [
            {"kind": "fee_requested", "at": at(0.2), "items": [{"name": "Lệ phí", "amount_vnd": 50_000}]},
            {
                "kind": "payment_received",
                "at": at(0.3),
                "transaction_id": f"VNP-{code}",
                "amount_vnd": 50_000,
            },
            {"kind": "result_ready", "at": at(0.8), "pickup": {"place": "Quầy số 3"}},
        ]
    return {
        "code": code,
        "agency_code": "H21.65",
        "procedure": procedure,
        "applicant": {
            "name": rng.choice(NAMES),
            "phone": f"09{rng.randrange(10**8):08d}",
            "zalo_user_id": None,
        },
        "received_at": received.isoformat(),
        "channel": rng.choice(["counter", "online", "post"]),
        "due_at": None if state == "supplement_required" else due.isoformat(),
        "status": state,
        "events": events,
    }


def generate(
    path: Path,
    count: int,
    *,
    day: str = "261130",
    first: int = 1,
    seed: int = 18,
    now: datetime | None = None,
) -> None:
    """A JSON-lines file of `count` open dossiers (codes H21.65-<day>-<first>…, 5 or 6 digits)."""
    rng = random.Random(seed)
    catalogue = procedures()
    now = now or datetime.now(UTC)
    with path.open("w", encoding="utf-8") as out:
        for serial in range(first, first + count):
            out.write(json.dumps(dossier(serial, day, now, rng, catalogue), ensure_ascii=False) + "\n")


FINAL = re.compile(r"đã nhập (\d+), đã có từ trước (\d+), không nhập (\d+)")


async def run_cli(
    env: dict[str, str], path: Path, concurrency: int, kill_after: float | None = None
) -> dict[str, Any]:
    """The import CLI in its own process, timed; killed with SIGKILL after `kill_after` seconds if given."""
    begun = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "admin.dossiers",
        "import",
        str(path),
        "--concurrency",
        str(concurrency),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    if kill_after is not None:
        try:
            await asyncio.wait_for(process.wait(), kill_after)
        except TimeoutError:
            process.send_signal(signal.SIGKILL)
    out, err = await process.communicate()
    seconds = time.monotonic() - begun
    found = FINAL.search(out.decode())
    imported, already, refused = (int(n) for n in found.groups()) if found else (None, None, None)
    progress = [line for line in err.decode().splitlines() if "/" in line]
    return {
        "exit": process.returncode,
        "seconds": round(seconds, 2),
        "imported": imported,
        "already": already,
        "refused": refused,
        "per_s": round(imported / seconds, 1) if imported else None,
        "last_progress": progress[-1] if progress else None,
    }


async def seed(database_url: str) -> None:
    from db.agencies import load_agencies, read_directory
    from db.engine import make_engine, make_session_factory
    from db.procedures import load_catalogue, read_catalogue

    engine = make_engine(database_url)
    entries, about = read_catalogue(DEPLOY / "procedures.sample.json")
    async with make_session_factory(engine)() as session:
        await load_catalogue(session, entries, loaded_by="bench", about=about)
        await load_agencies(session, read_directory(DEPLOY / "agencies.sample.json"))
    await engine.dispose()


async def counts(database_url: str, address: str, queue: str) -> dict[str, int]:
    from sqlalchemy import func
    from sqlmodel import select
    from temporalio.client import Client

    from db.engine import make_engine, make_session_factory
    from db.models import Dossier, DossierEvent

    engine = make_engine(database_url)
    async with make_session_factory(engine)() as session:
        rows = (await session.exec(select(func.count()).select_from(Dossier))).one()
        events = (await session.exec(select(func.count()).select_from(DossierEvent))).one()
    await engine.dispose()
    client = await Client.connect(address)
    await asyncio.sleep(2)  # visibility catches up
    workflows = (await client.count_workflows(f"TaskQueue = '{queue}'")).count
    return {"rows": int(rows), "timeline_rows": int(events), "workflows": workflows}


async def main(args: argparse.Namespace) -> None:
    from db.migrate import upgrade

    ports = {name: free_port() for name in ("temporal", "zalo")}
    address = f"127.0.0.1:{ports['temporal']}"
    processes: list[asyncio.subprocess.Process] = []
    with tempfile.TemporaryDirectory() as tmp:
        first_file, resume_file = Path(tmp) / "open.jsonl", Path(tmp) / "more.jsonl"
        generate(first_file, args.dossiers, day="261130")
        generate(resume_file, args.resume_dossiers, day="261201", seed=19)
        database_url = await fresh_database(args.database_url, Path(tmp))
        await asyncio.to_thread(upgrade, database_url)
        await seed(database_url)
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, **stack_env(database_url, ports["temporal"], ports["zalo"], queue)}
        try:
            processes.append(await start_temporal(ports["temporal"]))
            await wait_port(ports["temporal"])
            processes.append(await start_fake_zalo(ports["zalo"], env))
            processes.append(await spawn(sys.executable, "worker.py", env=env))
            await wait_port(ports["zalo"])
            await asyncio.sleep(2)
            backend = "postgresql" if args.database_url else "sqlite"
            base = {"backend": backend, "concurrency": args.concurrency}
            first = await run_cli(env, first_file, args.concurrency)
            print(json.dumps(base | {"run": "first", "dossiers": args.dossiers} | first), flush=True)
            second = await run_cli(env, first_file, args.concurrency)
            print(json.dumps(base | {"run": "second", "dossiers": args.dossiers} | second), flush=True)
            killed = await run_cli(env, resume_file, args.concurrency, kill_after=args.kill_after)
            resumed = await run_cli(env, resume_file, args.concurrency)
            print(
                json.dumps(base | {"run": "killed", "dossiers": args.resume_dossiers} | killed)
                + "\n"
                + json.dumps(base | {"run": "resumed", "dossiers": args.resume_dossiers} | resumed),
                flush=True,
            )
            print(
                json.dumps(
                    base
                    | {"run": "check", "expected": args.dossiers + args.resume_dossiers}
                    | await counts(database_url, address, queue)
                ),
                flush=True,
            )
        finally:
            for process in reversed(processes):
                if process.returncode is None:
                    process.terminate()
                    await process.wait()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="", help="PostgreSQL (a schema of its own); default SQLite")
    parser.add_argument("--dossiers", type=int, default=10_000)
    parser.add_argument("--resume-dossiers", type=int, default=2_000)
    parser.add_argument("--kill-after", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--write", type=Path, help="only write a file of --dossiers to import, and stop")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.write:
        generate(arguments.write, arguments.dossiers)
    else:
        asyncio.run(main(arguments))
