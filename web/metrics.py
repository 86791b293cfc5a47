"""Prometheus metrics of the API (`GET /metrics`) and one structured log line per request.

Two kinds of numbers:
- per process, counted as requests pass: `http_requests_total` and `http_request_duration_seconds` by
  route template (never the raw path: dossier codes would make one series per dossier) and status;
- from the database, read at scrape time and cached for METRICS_DB_CACHE_SECONDS: dossier events by kind
  (every transition, whoever caused it), open dossiers by status, overdue and past-due dossiers, notices by
  status and the age of the oldest notice that is due but not sent. Every API replica reports the same
  database numbers: aggregate them with max(), not sum() (docs/deployment.md).

The worker's own numbers (task slots, schedule-to-start latency, task failures) come from the Temporal
SDK runtime on WORKER_METRICS_BIND_ADDRESS (worker.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.engine import SessionFactory
from db.models import Dossier, DossierEvent, Notice
from domain.codes import workflow_id
from domain.notices import NoticeStatus
from domain.status import DossierStatus
from settings import Settings

log = structlog.get_logger("api.http")  # the name operators filter on; kept when the module moved

# Seconds; the API answers most requests in milliseconds, updates wait for the workflow (up to 30 s).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "<unmatched>"
UNFLAGGED_GRACE = timedelta(minutes=5)
QUIET_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
OPEN_STATUSES = [s.value for s in DossierStatus if not s.is_final]
PENDING_NOTICES = [
    NoticeStatus.SCHEDULED.value,
    NoticeStatus.QUEUED.value,
    NoticeStatus.FAILED_RETRYING.value,
]


@dataclass
class DatabaseSnapshot:
    """What the database said at one scrape."""

    events_by_kind: dict[str, int] = field(default_factory=dict)
    open_by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    overdue_unflagged: int = 0
    notices_by_status: dict[str, int] = field(default_factory=dict)
    oldest_due_notice_seconds: float = 0.0


async def read_snapshot(sessions: SessionFactory, now: datetime) -> DatabaseSnapshot:
    """Counts the operators alert on, with one indexed query each."""
    async with sessions() as session:
        events = await session.exec(select(DossierEvent.kind, func.count()).group_by(col(DossierEvent.kind)))
        by_status = await session.exec(
            select(Dossier.status, func.count())
            .where(col(Dossier.status).in_(OPEN_STATUSES))
            .group_by(col(Dossier.status))
        )
        overdue = await session.exec(
            select(func.count())
            .select_from(Dossier)
            .where(col(Dossier.overdue).is_(True), col(Dossier.status).in_(OPEN_STATUSES))
        )
        # Past due (with a grace period for the escalation to be recorded) and not flagged: the workflow's
        # overdue timer did not fire, so no worker is running it.
        unflagged = await session.exec(
            select(func.count())
            .select_from(Dossier)
            .where(
                Dossier.status == DossierStatus.RECEIVED.value,
                col(Dossier.overdue).is_(False),
                col(Dossier.due_at) < now - UNFLAGGED_GRACE,
            )
        )
        notices = await session.exec(select(Notice.status, func.count()).group_by(col(Notice.status)))
        due_since = func.coalesce(Notice.scheduled_for, Notice.created_at)
        oldest = await session.exec(
            select(func.min(due_since)).where(col(Notice.status).in_(PENDING_NOTICES), due_since <= now)
        )
        oldest_at = oldest.one()
    snapshot = DatabaseSnapshot(
        events_by_kind={str(kind): int(n) for kind, n in events.all()},
        open_by_status={str(status): int(n) for status, n in by_status.all()},
        overdue=int(overdue.one()),
        overdue_unflagged=int(unflagged.one()),
        notices_by_status={str(status): int(n) for status, n in notices.all()},
    )
    if oldest_at is not None:
        if oldest_at.tzinfo is None:  # SQLite hands back naive UTC for aggregates
            oldest_at = oldest_at.replace(tzinfo=UTC)
        snapshot.oldest_due_notice_seconds = max((now - oldest_at).total_seconds(), 0.0)
    return snapshot


class DatabaseCollector(Collector):
    """Serves the last snapshot; `refresh` renews it when it is older than the cache period."""

    def __init__(self, cache_seconds: float) -> None:
        self._ttl = cache_seconds
        self._snapshot: DatabaseSnapshot | None = None
        self._taken = -float("inf")
        self._lock = asyncio.Lock()
        self._ok = False

    async def refresh(self, sessions: SessionFactory) -> None:
        async with self._lock:  # one query set per period, however many scrapes arrive together
            if time.monotonic() - self._taken < self._ttl:
                return
            try:
                self._snapshot = await asyncio.wait_for(read_snapshot(sessions, datetime.now(UTC)), 10)
                self._ok = True
            except Exception as err:
                # Stale numbers would look healthy: drop them and say the database could not be read.
                log.warning("metrics.database_unreadable", error=f"{type(err).__name__}: {err}")
                self._snapshot, self._ok = None, False
            self._taken = time.monotonic()

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("dossier_db_metrics_up", "1 if the last database read for /metrics worked")
        up.add_metric([], 1.0 if self._ok else 0.0)
        yield up
        if self._snapshot is None:
            return
        yield from _families(self._snapshot)


def _families(s: DatabaseSnapshot) -> Iterator[Metric]:
    events = CounterMetricFamily(
        "dossier_events", "Timeline entries (transitions, reminders, escalations) by kind", labels=["kind"]
    )
    for kind, n in sorted(s.events_by_kind.items()):
        events.add_metric([kind], n)
    yield events
    open_ = GaugeMetricFamily("dossiers_open", "Dossiers not yet finished, by status", labels=["status"])
    for status in OPEN_STATUSES:
        open_.add_metric([status], s.open_by_status.get(status, 0))
    yield open_
    yield GaugeMetricFamily("dossiers_overdue", "Open dossiers flagged overdue by their workflow", s.overdue)
    yield GaugeMetricFamily(
        "dossiers_overdue_unflagged",
        "Dossiers past their due time that their workflow has not escalated (its timer did not fire)",
        s.overdue_unflagged,
    )
    notices = GaugeMetricFamily("dossier_notices", "Notices in the delivery log by status", labels=["status"])
    for status in NoticeStatus:
        notices.add_metric([status.value], s.notices_by_status.get(status.value, 0))
    yield notices
    yield GaugeMetricFamily(
        "dossier_notice_oldest_due_seconds",
        "Age of the oldest notice that is due but not sent (0 when none waits)",
        s.oldest_due_notice_seconds,
    )


class ApiMetrics:
    """The API's registry (one per app, so several apps in one process never clash)."""

    def __init__(self, settings: Settings) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.database = DatabaseCollector(settings.metrics_db_cache_seconds)
        self.registry.register(self.database)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class RequestMetricsMiddleware:
    """Counts and times every request by route template, and logs it as one JSON event.

    Pure ASGI (not BaseHTTPMiddleware) so it sees the scope the router fills in: the matched route and
    its path parameters, hence `dossier_code` in the log line.
    """

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_remember(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_remember)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.observe(method, route, status, elapsed)
            fields: dict[str, Any] = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 1),
            }
            code = (scope.get("path_params") or {}).get("code")
            if code:
                fields["dossier_code"] = code
                fields["workflow_id"] = workflow_id(code)
            if route in QUIET_ROUTES:
                log.debug("http.request", **fields)
            else:
                log.info("http.request", **fields)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=True, response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, latencies, dossier events, open and overdue dossiers, notices."""
    registry: ApiMetrics = request.app.state.metrics
    await registry.database.refresh(request.app.state.session_factory)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI, settings: Settings) -> None:
    """Mount /metrics and the request middleware on the app."""
    disable_created_metrics()  # type: ignore[no-untyped-call]  # `*_created` series: noise, no alert uses them
    app.state.metrics = ApiMetrics(settings)
    app.add_middleware(RequestMetricsMiddleware, metrics=app.state.metrics)
    app.include_router(router)
