"""The Temporal worker: runs DossierWorkflow, NoticeResendWorkflow and their activities. Start it with
`python worker.py`."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Interceptor, UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.calendar import CalendarActivities
from activities.log_context import ActivityLogContext
from activities.notices import NoticeActivities
from activities.records import RecordActivities
from activities.resend import ResendActivities
from db.engine import SessionFactory, engine_for, make_session_factory
from db.zalo_tokens import zalo_client
from settings import Settings, configure_logging, get_settings
from workflows import contracts
from workflows.client import TemporalConnection, connect
from workflows.dossier import DossierWorkflow
from workflows.gateway import Gateway
from workflows.resend import NoticeResendWorkflow

log = logging.getLogger("worker")


def activities(
    settings: Settings, sessions: SessionFactory, http: httpx.AsyncClient
) -> list[Callable[..., Any]]:
    """Every activity the workflows call (workflows/contracts.py names them), with its dependencies.

    The Zalo client sends over `http`, which its owner closes; the client holds nothing else to close.
    """
    return [
        *RecordActivities(sessions, settings).activity_functions(),
        *CalendarActivities(sessions, settings).activity_functions(),
        *NoticeActivities(sessions, zalo_client(sessions, settings, http), settings).activity_functions(),
        *ResendActivities(sessions, settings).activity_functions(),
    ]


def build_worker(
    client: Client,
    settings: Settings,
    sessions: SessionFactory,
    http: httpx.AsyncClient,
    *,
    task_queue: str | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    """The worker of the dossiers and their notices' resends; `http` is the Zalo connection (its owner
    closes it).

    On shutdown it stops polling and gives running activities WORKER_GRACEFUL_SHUTDOWN_SECONDS to finish
    before it cancels them (docker-compose's stop_grace_period is longer, so SIGKILL never comes first).
    `interceptors` come after the log context's (bench.profile times activities with one).

    WORKER_RUNS picks its part of the task queue: all of it, the workflows (their local activities run
    there) or the activities (every one is registered: the projection of a history from before it ran
    locally is a remote activity, taken here). Its identity, shown in the Temporal UI for every task it
    took, is the client's (the SDK's default) followed by that part.
    """
    runs = settings.worker_runs
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[] if runs == "activities" else [DossierWorkflow, NoticeResendWorkflow],
        activities=activities(settings, sessions, http),
        no_remote_activities=runs == "workflows",
        identity=f"{client.identity}/{runs}",
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_local_activities=settings.worker_max_concurrent_local_activities,
        max_cached_workflows=settings.worker_max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
        sticky_queue_schedule_to_start_timeout=contracts.STICKY_QUEUE_TIMEOUT,
        interceptors=[ActivityLogContext(), *interceptors],
        workflow_runner=SandboxedWorkflowRunner()
        if settings.worker_workflow_sandbox
        else UnsandboxedWorkflowRunner(),
    )


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A runtime serving the SDK's metrics for Prometheus, when WORKER_METRICS_BIND_ADDRESS is set."""
    if not settings.worker_metrics_bind_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            # Seconds, like every other latency operators read; names stay those of Temporal's docs.
            metrics=PrometheusConfig(
                bind_address=settings.worker_metrics_bind_address, durations_as_seconds=True
            ),
            global_tags={"service": "dossier-worker"},
        )
    )


async def main() -> None:
    settings = get_settings()
    configure_logging(settings, "worker")
    engine = engine_for(settings)
    runtime = metrics_runtime(settings)
    client = await connect(settings, attempts=60, runtime=runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(timeout=settings.zalo_timeout_seconds) as http:
        sessions = make_session_factory(engine)
        worker = build_worker(client, settings, sessions, http)
        # Everything made so far (modules, settings, clients) lives as long as the process: frozen out of
        # the cyclic collector's way, so a full collection walks only the cached workflows. The SDK's
        # deadlock detector is wall-clock (2 s a workflow activation), and a collection holds the GIL.
        gc.collect()
        gc.freeze()
        log.info(
            "worker (%s) polling task queue %s on %s (metrics: %s, payload encryption: %s)",
            settings.worker_runs,
            settings.task_queue,
            settings.temporal_address,
            settings.worker_metrics_bind_address or "off",
            settings.payload_encryption_key_id or "off",
        )
        gateway = Gateway(TemporalConnection(settings, client), settings)
        reconciler = asyncio.create_task(gateway.reconcile_forever(sessions, stop))
        async with worker:
            await stop.wait()
            await reconciler
            log.info(
                "shutting down: finishing running activities (up to %.0f s)",
                settings.worker_graceful_shutdown_seconds,
            )
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
