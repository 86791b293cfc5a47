"""Where a profiled process's CPU went: `python -m bench.spy_summary DIR` reads the collapsed stacks that
`bench.transitions --py-spy DIR` wrote (one file a process) and prints each process's samples by part.

A sample belongs to the project module nearest the leaf of its stack (so the database calls of the notice
send count as the notice send, and a route's work under the idempotency middleware as the route's); a
sample in no project code goes to the first library part below that any of its frames belongs to (so
"SQLite (driver)" is aiosqlite's own thread, whichever module asked it). Shares are of the samples py-spy
took while the process ran, once it had loaded its modules: samples inside an import are counted apart as
its start-up, and samples of a thread blocked in epoll, an idle pool thread or an aiosqlite connection
thread waiting for its next call apart as waiting.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

# (part, any of these in a frame): first match wins, from the stack's root to its leaf.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    # The project's own modules appear as "(package/module.py:line)" in py-spy's frames.
    ("notice send (activities/notices.py)", ("(activities/notices.py",)),
    ("projection (activities/records.py)", ("(activities/records.py",)),
    ("calendar (activities/calendar.py)", ("(activities/calendar.py",)),
    ("idempotency middleware (api/idempotency.py)", ("(api/idempotency.py",)),
    ("routes and views (api/)", ("(api/",)),
    ("gateway to Temporal (workflows/gateway.py)", ("(workflows/gateway.py",)),
    ("workflow code (workflows/, domain/)", ("(workflows/dossier.py", "(domain/")),
    (
        "workflow activations (SDK, sandbox)",
        ("temporalio/worker/_workflow_instance.py", "temporalio/worker/_workflow.py", "workflow_sandbox"),
    ),
    (
        "payload conversion (SDK, codec)",
        ("temporalio/converter.py", "temporalio/bridge/_visitor.py", "(workflows/codec.py"),
    ),
    ("activity plumbing (SDK)", ("temporalio/worker/_activity.py",)),
    ("FastAPI and pydantic (validation, serialisation)", ("fastapi/", "pydantic")),
    ("SQLite (driver)", ("aiosqlite/", "sqlite3/")),
    ("PostgreSQL (driver)", ("psycopg/", "psycopg_pool/")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("HTTP (uvicorn, starlette, httpx)", ("uvicorn/", "starlette/", "httpx/", "httpcore/", "h11/")),
    ("event loop and threads", ("asyncio/", "threading.py", "concurrent/futures")),
]


STARTUP = "start-up (imports)"
IDLE = "waiting (epoll, idle threads)"


def _aiosqlite_wait() -> str:
    """The frame of an aiosqlite connection thread waiting for its next call (its queue's `get`)."""
    import inspect

    import aiosqlite.core

    lines, first = inspect.getsourcelines(aiosqlite.core._connection_worker_thread)
    line = first + next(n for n, text in enumerate(lines) if "tx.get()" in text)
    return f"_connection_worker_thread (aiosqlite/core.py:{line})"


IDLE_LEAVES = ("EpollSelector.select ", "_worker (concurrent/futures/thread.py", _aiosqlite_wait())


def part_of(stack: str) -> str:
    if "<frozen importlib" in stack:
        return STARTUP  # the process loading its modules, before and at its first requests
    frames = stack.split(";")
    if frames[-1].startswith(IDLE_LEAVES):
        return IDLE  # py-spy does not always tell a thread blocked in these from one running
    # The project's frame nearest the leaf owns the sample (a route's work under the idempotency
    # middleware is the route's; a database call of the projection is the projection's) ...
    for frame in reversed(frames):
        for part, needles in PARTS:
            if needles[0].startswith("(") and any(needle in frame for needle in needles):
                return part
    # ... and a sample in no project code goes to the first library part that any frame belongs to.
    for part, needles in PARTS:
        if any(needle in stack for needle in needles):
            return part
    return "other"


def summary(path: Path) -> dict[str, object]:
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[part_of(stack)] += int(n)
    startup, idle = counts.pop(STARTUP, 0), counts.pop(IDLE, 0)
    total = sum(counts.values())
    return {
        "process": path.stem,
        "samples": total,
        "startup_samples": startup,
        "waiting_samples": idle,
        "share": {part: round(n / total, 3) for part, n in counts.most_common()} if total else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    for path in sorted(parser.parse_args().dir.glob("*.txt")):
        print(json.dumps(summary(path), ensure_ascii=False))


if __name__ == "__main__":
    main()
