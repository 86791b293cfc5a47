"""`make run`: the whole system on one machine, supervised from one terminal; Ctrl-C stops it all.

Starts the Temporal dev server (state in .data/temporal.db, search attributes registered, UI), the fake
Zalo server, the worker and the API (SQLite in .data/), prints the URLs and the local API key. A database
whose agency directory is empty gets deploy/agencies.sample.json, so local notices and pages name real
agencies; one with no procedure catalogue gets deploy/procedures.sample.json (/thu-tuc, the OA's "TT").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from db.agencies import directory_is_empty, load_agencies, read_directory
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade
from db.procedures import current_version, load_catalogue, read_catalogue
from domain import zns_templates
from domain.codes import ALL_AGENCIES
from workflows.search_attributes import cli_flags

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SAMPLE_AGENCIES = ROOT / "deploy" / "agencies.sample.json"
SAMPLE_PROCEDURES = ROOT / "deploy" / "procedures.sample.json"

LOCAL_OFFICERS = {
    ALL_AGENCIES: {
        "officer": ["officer-local-1"],
        "department_head": ["head-local-1"],
        "agency_head": ["director-local-1"],
    }
}


@dataclass
class Child:
    name: str
    argv: list[str]
    process: asyncio.subprocess.Process | None = None
    pump: asyncio.Task[None] | None = field(default=None, repr=False)


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


async def wait_for_port(port: int, child: Child, seconds: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if child.process is not None and child.process.returncode is not None:
                raise SystemExit(
                    f"{child.name} exited with status {child.process.returncode} while starting"
                ) from None
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"{child.name} did not open port {port} within {seconds:.0f}s") from None
            await asyncio.sleep(0.2)


async def pump_output(child: Child) -> None:
    assert child.process is not None
    assert child.process.stdout is not None
    async for line in child.process.stdout:
        sys.stdout.write(f"[{child.name:<8}] {line.decode(errors='replace')}")
        sys.stdout.flush()


async def start(child: Child, env: dict[str, str]) -> None:
    # A session of its own: the terminal's Ctrl-C reaches only this supervisor, which stops children in order.
    child.process = await asyncio.create_subprocess_exec(
        *child.argv,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    child.pump = asyncio.create_task(pump_output(child))


async def stop(children: list[Child]) -> None:
    for child in reversed(children):
        if child.process is None or child.process.returncode is not None:
            continue
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), timeout=20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            await child.process.wait()
        if child.pump is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(child.pump, timeout=2)


def ui_codec_flags(api_port: int) -> list[str]:
    """With PAYLOAD_KEYS set (env or .env), the dev UI decrypts through the API's codec (docs/pii.md)."""
    from settings import Settings

    if not Settings().payload_keys.get_secret_value():
        return []
    return ["--ui-codec-endpoint", f"http://localhost:{api_port}/codec"]


def fake_templates(data: Path) -> Path:
    """The ZNS templates as if registered with Zalo under the fake's ids (`fake-<kind>`): the fake Zalo
    refuses a message whose parameters are missing or too long, as Zalo does."""
    ids = zns_templates.fake_template_ids()
    path = data / "zns_templates.json"
    path.write_text(
        json.dumps(zns_templates.as_registered(ids), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return path


def local_api_key(data: Path) -> str:
    """The key printed for local use, made once and kept in the data folder."""
    data.mkdir(parents=True, exist_ok=True)
    path = data / "local_api_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def local_officer_password(data: Path) -> str:
    """The password of the local officer `canbo`, made once and kept in the data folder."""
    path = data / "local_officer_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def fake_zalo_command(python: str, port: int, journal: Path, api_port: int, data: Path) -> list[str]:
    """The fake Zalo on `port`: its journal, delivery receipts to the API's webhook, the ZNS templates."""
    return [
        python,
        "-m",
        "zalo.fake_server",
        "--port",
        str(port),
        "--journal",
        str(journal),
        "--webhook-url",
        f"http://127.0.0.1:{api_port}/webhooks/zalo",
        "--templates",
        str(fake_templates(data)),
    ]


def api_command(python: str, port: int) -> list[str]:
    """The web process on `port` (nothing stands in front locally: every address is the client's)."""
    return [
        python,
        "-m",
        "uvicorn",
        "server:app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--no-proxy-headers",
    ]


async def sample_directory(database_url: str, path: Path = SAMPLE_AGENCIES) -> int:
    """Load the sample agency directory into a database whose directory is empty; how many agencies it
    loaded (0 when the directory already had entries: an administrator's changes are kept)."""
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            if not await directory_is_empty(session):
                return 0
            entries = await asyncio.to_thread(read_directory, path)
            return (await load_agencies(session, entries)).created
    finally:
        await engine.dispose()


async def sample_catalogue(database_url: str, path: Path = SAMPLE_PROCEDURES) -> int:
    """Load the sample procedure catalogue when none was ever loaded (the lookup page and the OA's
    "TT <words>" search it); how many procedures it loaded (0 when a catalogue is in force already)."""
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            if await current_version(session) is not None:
                return 0
            entries, about = await asyncio.to_thread(read_catalogue, path)
            await load_catalogue(session, entries, loaded_by="make run", source=path.name, about=about)
            return len(entries)
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> int:
    ports = {
        "Temporal server": args.temporal_port,
        "Temporal UI": args.ui_port,
        "API": args.api_port,
        "fake Zalo": args.zalo_port,
    }
    taken = [f"{name} port {port}" for name, port in ports.items() if port_taken(port)]
    if taken:
        print(f"make run: cannot start, already in use: {', '.join(taken)}", file=sys.stderr)
        print("Stop whatever holds them (another `make run`?) or pick other ports.", file=sys.stderr)
        return 1

    data: Path = args.data_dir
    key = await asyncio.to_thread(local_api_key, data)
    officer_password = await asyncio.to_thread(local_officer_password, data)
    database_url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{data / 'dossiers.db'}")
    env = {
        **os.environ,
        "APP_ENV": "local",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{args.temporal_port}",
        "TEMPORAL_UI_URL": f"http://localhost:{args.ui_port}",
        "PUBLIC_BASE_URL": f"http://localhost:{args.api_port}",
        "ZALO_MODE": "fake",
        "FAKE_ZALO_URL": f"http://127.0.0.1:{args.zalo_port}",
        "LOCAL_API_KEY": key,
        "LOCAL_OFFICER_PASSWORD": officer_password,
        "PYTHONUNBUFFERED": "1",
    }
    env.setdefault("OFFICER_ZALO_IDS", json.dumps(LOCAL_OFFICERS))
    await asyncio.to_thread(upgrade, database_url)
    if loaded := await sample_directory(database_url):
        print(
            f"make run: agency directory: {loaded} agencies from {SAMPLE_AGENCIES.relative_to(ROOT)}",
            flush=True,
        )
    if loaded := await sample_catalogue(database_url):
        print(
            f"make run: procedure catalogue: {loaded} procedures from {SAMPLE_PROCEDURES.relative_to(ROOT)}",
            flush=True,
        )

    python = str(BIN / "python")
    temporal = Child(
        "temporal",
        [
            str(BIN / "temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(args.temporal_port),
            "--ui-port",
            str(args.ui_port),
            "--db-filename",
            str(data / "temporal.db"),
            "--log-level",
            "warn",
            *cli_flags(),
            *ui_codec_flags(args.api_port),
        ],
    )
    zalo = Child(
        "zalo", fake_zalo_command(python, args.zalo_port, data / "fake_zalo.jsonl", args.api_port, data)
    )
    worker = Child("worker", [python, "worker.py"])
    api = Child("api", api_command(python, args.api_port))
    children = [temporal, zalo, worker, api]

    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupted.set)

    try:
        await start(temporal, env)
        await wait_for_port(args.temporal_port, temporal)
        await start(zalo, env)
        await wait_for_port(args.zalo_port, zalo)
        await start(worker, env)
        await start(api, env)
        await wait_for_port(args.api_port, api)
    except SystemExit as err:
        print(f"make run: {err}", file=sys.stderr)
        await stop(children)
        return 1

    print(
        "\n"
        "  Dossier tracker is up (Ctrl-C stops everything)\n"
        f"  API and pages     http://localhost:{args.api_port}   (OpenAPI: /docs)\n"
        f"  Temporal UI       http://localhost:{args.ui_port}\n"
        f"  Fake Zalo         http://localhost:{args.zalo_port}   (what citizens would have received)\n"
        f"  Temporal server   127.0.0.1:{args.temporal_port}\n"
        f"  Data              {data}\n"
        f"  API key (local): {key}\n"
        f"  Officer desk      http://localhost:{args.api_port}/can-bo\n"
        f"  Officer login (local): canbo / {officer_password}\n"
        f"  Citizen lookup    http://localhost:{args.api_port}/tra-cuu\n",
        flush=True,
    )

    waiters = {asyncio.create_task(c.process.wait()): c for c in children if c.process is not None}
    interrupt = asyncio.create_task(interrupted.wait())
    done, _ = await asyncio.wait([interrupt, *waiters], return_when=asyncio.FIRST_COMPLETED)
    status = 0
    if interrupt not in done:
        crashed = next(waiters[task] for task in done if task in waiters)
        print(f"make run: {crashed.name} stopped unexpectedly; stopping the rest", file=sys.stderr)
        status = 1
    print("make run: stopping…", flush=True)
    await stop(children)
    for task in [interrupt, *waiters]:
        task.cancel()
    print("make run: stopped", flush=True)
    return status


def main() -> None:
    os.environ.setdefault("APP_ENV", "local")  # settings have no default environment; this is local
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=lambda p: Path(p).resolve(), default=ROOT / ".data")
    parser.add_argument("--temporal-port", type=int, default=7233)
    parser.add_argument("--ui-port", type=int, default=8233)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--zalo-port", type=int, default=8300)
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
