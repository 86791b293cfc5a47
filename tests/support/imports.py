"""The import of open dossiers run in the test's process (admin.dossiers.run_import), as the CLI would."""

from __future__ import annotations

import io
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from admin.dossiers import DEFAULT_CONCURRENCY, run_import
from db.engine import SessionFactory
from settings import Settings
from workflows.client import TemporalConnection


async def importing(
    settings: Settings,
    session_factory: SessionFactory,
    env: WorkflowEnvironment,
    path: Path,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> tuple[int, str, str]:
    """`python -m admin.dossiers import` of `path` in process, on `env`'s dev server: the exit status, what
    it printed and what it reported on stderr."""
    out, err = io.StringIO(), io.StringIO()
    async with session_factory() as session:
        status = await run_import(
            settings,
            session,
            path,
            temporal=TemporalConnection(settings, env.client),
            out=out,
            err=err,
            concurrency=concurrency,
        )
    return status, out.getvalue(), err.getvalue()
