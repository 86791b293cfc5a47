"""Open dossiers brought over when going live: `python -m admin.dossiers import FILE [--report R]`.

Reads a JSON-lines file of the dossiers still open in the TTHC system or the national portal (one dossier
a line, its past events included; docs/import.md), checks every line first (domain/imports.py: the
catalogue in force, the agency directory, the dates, the transition table), then imports the good ones a
few at a time: each dossier's rows (db/imports.py) in one transaction, then its workflow started from that
state (the gateway), which sends nothing for the past and plans the timers still to come. A second run
changes nothing ("đã có"); a run killed midway is resumed by running it again. Lines not imported are
listed with their reason, in Vietnamese and English, on stdout or in the `--report` file (JSON lines).
Uses DATABASE_URL and TEMPORAL_ADDRESS; the database must already be migrated (`python -m db.migrate`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.database import with_database
from db.agencies import list_agencies
from db.calendar import office_calendar
from db.engine import SessionFactory, make_session_factory
from db.imports import Existing, Written, existing, write_imported
from db.procedures import catalogue_procedures, current_version
from db.types import utcnow
from domain import vocabulary
from domain.calendar import WorkingCalendar
from domain.dossier import DossierPolicy
from domain.imports import Imported, ImportRefusal, ImportRefused, Problem, parse, state_of
from domain.procedures import CatalogueEntry
from settings import Settings, get_settings
from workflows.client import TemporalConnection
from workflows.gateway import Gateway, GatewayError

DEFAULT_CONCURRENCY = 8
PROGRESS_EVERY_SECONDS = 1.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m admin.dossiers",
        description=(
            "Hồ sơ đang giải quyết: nhập từ hệ thống một cửa điện tử hoặc Cổng DVCQG khi đưa vào sử dụng."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser(
        "import",
        help="nhập các hồ sơ đang mở từ tệp JSON lines (mỗi dòng một hồ sơ)",
        description="Kiểm tra mọi dòng trước; dòng sai không được ghi gì. Chạy lại không nhập trùng; "
        "lần chạy bị ngắt giữa chừng được tiếp tục bằng cách chạy lại.",
    )
    importing.add_argument("file", type=Path, help="tệp JSON lines (docs/import.md)")
    importing.add_argument(
        "--report", type=Path, help="ghi các dòng không nhập được vào tệp này (JSON lines)"
    )
    importing.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="số hồ sơ nhập đồng thời (mặc định 8)"
    )
    return parser


@dataclass
class Refusal:
    row: int
    code: str
    problems: list[Problem]

    def lines(self) -> list[str]:
        where = f"dòng {self.row}" + (f" ({self.code})" if self.code else "")
        return [
            f"{where}: {vocabulary.IMPORT_REFUSALS[p.reason]}"
            + (f": {p.value}" if p.value else "")
            + f" — {p.message}"
            for p in self.problems
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "code": self.code,
            "problems": [
                {
                    "reason": p.reason.value,
                    "vi": vocabulary.IMPORT_REFUSALS[p.reason],
                    "en": p.message,
                    "value": p.value,
                }
                for p in self.problems
            ],
        }


@dataclass
class Tally:
    total: int
    counts: Counter[str] = field(default_factory=Counter)
    refused: list[Refusal] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    shown_at: float = 0.0

    @property
    def done(self) -> int:
        return sum(self.counts.values()) + len(self.refused)

    def progress(self, out: TextIO, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.shown_at < PROGRESS_EVERY_SECONDS:
            return
        self.shown_at = now
        elapsed = max(now - self.started_at, 1e-9)
        print(
            f"{self.done}/{self.total}  đã nhập {self.counts['imported']}, đã có {self.counts['already']}, "
            f"không nhập {len(self.refused)}  ({self.counts['imported'] / elapsed:.1f} hồ sơ/giây, "
            f"{elapsed:.1f} s)",
            file=out,
            flush=True,
        )


@dataclass(frozen=True)
class Context:
    procedures: dict[str, CatalogueEntry]
    catalogue_version: int | None
    agencies: set[str] | None
    calendar: WorkingCalendar
    policy: DossierPolicy
    now: datetime


def check_lines(path: Path, context: Context, tally_out: list[Refusal]) -> list[tuple[int, Imported]]:
    """Every line of the file checked: the good ones, and a refusal for each other (in `tally_out`)."""
    good: list[tuple[int, Imported]] = []
    seen: dict[str, int] = {}
    working_days = {code: entry.working_days for code, entry in context.procedures.items()}
    with path.open(encoding="utf-8") as lines:
        for row, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                tally_out.append(Refusal(row, "", [Problem(ImportRefusal.NOT_JSON, f"not JSON: {error}")]))
                continue
            code = str(data.get("code", "")) if isinstance(data, dict) else ""
            try:
                imported = parse(data, procedures=working_days, agencies=context.agencies, now=context.now)
            except ImportRefused as refused:
                tally_out.append(Refusal(row, code, refused.problems))
                continue
            if code in seen:
                tally_out.append(
                    Refusal(
                        row,
                        code,
                        [
                            Problem(
                                ImportRefusal.DUPLICATE_IN_FILE,
                                f"code {code} is also on line {seen[code]}",
                                code,
                            )
                        ],
                    )
                )
                continue
            seen[code] = row
            good.append((row, imported))
    return good


async def load_context(session: AsyncSession, settings: Settings) -> Context:
    version = await current_version(session)
    procedures = {entry.code: entry for entry in await catalogue_procedures(session, version)}
    agencies = {agency.code for agency in await list_agencies(session)} or None
    calendar = await office_calendar(session, settings.office_hours())
    return Context(procedures, version, agencies, calendar, settings.dossier_policy(), utcnow())


async def import_one(
    sessions: SessionFactory,
    gateway: Gateway,
    context: Context,
    row: int,
    imported: Imported,
    known: Existing | None,
) -> tuple[str, Refusal | None]:
    """One dossier: its rows, then its workflow; ("imported" | "already", None) or ("refused", why)."""
    code = imported.input.code
    entry = context.procedures[imported.input.procedure.code]
    registration = replace(imported.input, policy=context.policy, supplement=entry.supplement)
    # A dossier written by an earlier run is started from the state built for that run's instant.
    as_of = known.created_at if known is not None else context.now
    state = state_of(imported, calendar=context.calendar, policy=context.policy, now=as_of)
    if known is None:
        async with sessions() as session:
            written = await write_imported(session, registration, state, context.catalogue_version)
    elif known.fingerprint == imported.input.fingerprint:
        written = Written.KNOWN
    else:
        written = Written.TAKEN
    if written is Written.TAKEN:
        return "refused", Refusal(
            row,
            code,
            [Problem(ImportRefusal.CODE_TAKEN, f"dossier {code} is registered here with another body", code)],
        )
    if written is Written.TRANSACTION_TAKEN:
        return "refused", Refusal(
            row,
            code,
            [
                Problem(
                    ImportRefusal.TRANSACTION_TAKEN, "a payment's transaction id belongs to another dossier"
                )
            ],
        )
    try:
        started = await gateway.start_imported(replace(registration, carried=state))
    except GatewayError as error:
        return "refused", Refusal(
            row, code, [Problem(ImportRefusal.NOT_STARTED, f"{type(error).__name__}: {error}")]
        )
    return ("imported" if started or written is Written.NEW else "already"), None


async def run_import(
    settings: Settings,
    session: AsyncSession,
    path: Path,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    report: Path | None = None,
    temporal: TemporalConnection | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """The import of one file; the exit status (0: every line imported or already there, 1: some lines
    not imported, 2: the file cannot be read)."""
    context = await load_context(session, settings)
    await session.commit()
    refused: list[Refusal] = []
    try:
        good = await asyncio.to_thread(check_lines, path, context, refused)
    except (OSError, UnicodeDecodeError) as error:
        print(f"Không đọc được tệp {path}: {error}", file=err)
        return 2
    tally = Tally(total=len(good) + len(refused), refused=refused)
    print(
        f"{path}: {tally.total} hồ sơ, {len(refused)} dòng không hợp lệ; bắt đầu nhập {len(good)}.", file=err
    )
    assert session.bind is not None
    sessions = make_session_factory(session.bind)  # type: ignore[arg-type]
    known = await existing(session, [imported.input.code for _, imported in good])
    await session.commit()
    gateway = Gateway(temporal or TemporalConnection(settings), settings)
    queue: asyncio.Queue[tuple[int, Imported]] = asyncio.Queue()
    for item in good:
        queue.put_nowait(item)

    async def work() -> None:
        while not queue.empty():
            row, imported = queue.get_nowait()
            outcome, refusal = await import_one(
                sessions, gateway, context, row, imported, known.get(imported.input.code)
            )
            if refusal is not None:
                tally.refused.append(refusal)
            else:
                tally.counts[outcome] += 1
            tally.progress(err)

    await asyncio.gather(*(work() for _ in range(max(1, concurrency))))
    tally.progress(err, final=True)
    tally.refused.sort(key=lambda r: r.row)
    if report is not None:
        with report.open("w", encoding="utf-8") as file:
            for refusal in tally.refused:
                file.write(json.dumps(refusal.as_json(), ensure_ascii=False) + "\n")
    else:
        for refusal in tally.refused:
            for line in refusal.lines():
                print(line, file=out)
    print(
        f"Xong: đã nhập {tally.counts['imported']}, đã có từ trước {tally.counts['already']}, "
        f"không nhập {len(tally.refused)}"
        + (f" (chi tiết: {report})" if report and tally.refused else "")
        + ".",
        file=out,
    )
    return 1 if tally.refused else 0


async def run(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> int:
        return await run_import(
            settings, session, args.file, concurrency=args.concurrency, report=args.report
        )

    return await with_database(settings, work)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m admin.dossiers`."""
    args = build_parser().parse_args(argv)
    return asyncio.run(run(args, get_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
