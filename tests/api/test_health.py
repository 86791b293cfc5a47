"""/healthz and /readyz: readiness names the dependency that is not reachable, and says 503."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from db.engine import make_engine, make_session_factory
from server import create_app
from settings import Settings


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_readyz_names_what_is_unreachable(settings: Settings, tmp_path: Path) -> None:
    broken = settings.model_copy(update={"temporal_address": f"127.0.0.1:{closed_port()}"})
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}")  # a directory: no database opens there
    app = create_app(broken, session_factory=make_session_factory(engine))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.test"
        ) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
    finally:
        await engine.dispose()
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unreachable: ")
    assert body["checks"]["temporal"].startswith("unreachable: ")
