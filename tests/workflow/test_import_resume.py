"""The import CLI killed mid-run (SIGKILL, as a crash) and run again: the rest is imported, nothing twice.

The CLI runs in its own process against the test's database and the session's dev server, as an
administrator would run it; the real worker runs the started workflows."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from bench.import_rate import generate
from db.engine import SessionFactory
from db.models import Dossier, DossierEvent
from domain.codes import workflow_id
from settings import Settings
from tests.support.imports import importing
from tests.workflow.test_import import seed_catalogue

pytestmark = pytest.mark.usefixtures("worker")

ROOT = Path(__file__).resolve().parents[2]
DOSSIERS = 200


async def rows(session_factory: SessionFactory) -> int:
    async with session_factory() as session:
        return int((await session.exec(select(func.count()).select_from(Dossier))).one())


async def test_an_import_killed_midway_is_finished_by_the_next_run(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory, tmp_path: Path
) -> None:
    await seed_catalogue(session_factory)
    path = tmp_path / "open.jsonl"
    # Codes of this test alone: the dev server lives for the whole session (both database backends).
    generate(path, DOSSIERS, day="261129", first=100_000 + uuid.uuid4().int % 800_000)
    env = {
        **os.environ,
        "APP_ENV": "local",
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": workflow_env.client.service_client.config.target_host,
        "TASK_QUEUE": settings.task_queue,
        "ZALO_MODE": "fake",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "admin.dossiers",
        "import",
        str(path),
        "--concurrency",
        "2",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(60):
            while await rows(session_factory) < 10:
                assert process.returncode is None, "the import ended before it could be killed"
                await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    done_before = await rows(session_factory)
    assert 10 <= done_before < DOSSIERS

    status, out, _ = await importing(settings, session_factory, workflow_env, path)
    assert status == 0, out
    # Rows written by the killed run whose workflow it had not started yet are started now ("imported").
    imported, already = (
        int(n) for n in out.split("đã nhập ")[1].split(", không")[0].split(", đã có từ trước ")
    )
    assert imported + already == DOSSIERS
    assert already <= done_before
    assert imported >= DOSSIERS - done_before

    assert await rows(session_factory) == DOSSIERS
    async with session_factory() as session:
        last_seqs = dict((await session.exec(select(Dossier.code, Dossier.last_seq))).all())
        per_code = dict(
            (
                await session.exec(
                    select(DossierEvent.dossier_code, func.count()).group_by(DossierEvent.dossier_code)  # type: ignore[arg-type]
                )
            ).all()
        )
    assert per_code == last_seqs  # every timeline whole, none written twice
    for code in last_seqs:
        description = await workflow_env.client.get_workflow_handle(workflow_id(code)).describe()
        assert description.task_queue == settings.task_queue

    status, again, _ = await importing(settings, session_factory, workflow_env, path)
    assert status == 0
    assert f"đã nhập 0, đã có từ trước {DOSSIERS}, không nhập 0" in again
