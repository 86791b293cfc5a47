"""API clients and their keys: only a SHA-256 of each key is stored; the key is printed once.

python -m api.clients create --name tthc --agency H21.65 [--agency H21.66]
python -m api.clients list
python -m api.clients revoke --name tthc
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import make_engine, make_session_factory
from db.models import ApiClient
from db.types import utcnow


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "dtk_" + secrets.token_urlsafe(32)


async def find_client(session: AsyncSession, key: str) -> ApiClient | None:
    """The active client holding `key`, if any."""
    result = await session.exec(select(ApiClient).where(ApiClient.key_hash == hash_key(key)))
    client = result.first()
    return client if client is not None and client.revoked_at is None else None


async def create_client(session: AsyncSession, name: str, agencies: list[str], key: str | None = None) -> str:
    """Store a new client and return its key (the only time it is seen in clear)."""
    key = key or new_key()
    session.add(ApiClient(name=name, key_hash=hash_key(key), key_prefix=key[:12], agencies=agencies))
    await session.commit()
    return key


async def ensure_local_client(session: AsyncSession, key: str) -> None:
    """Local mode: the printed key belongs to a client `local` that may act for every agency."""
    result = await session.exec(select(ApiClient).where(ApiClient.name == "local"))
    client = result.first()
    if client is None:
        await create_client(session, "local", ["*"], key)
    elif client.key_hash != hash_key(key) or client.revoked_at is not None:
        client.key_hash, client.key_prefix, client.revoked_at = hash_key(key), key[:12], None
        await session.commit()


async def _main(args: argparse.Namespace) -> None:
    from settings import get_settings

    engine = make_engine(get_settings().database_url)
    try:
        async with make_session_factory(engine)() as session:
            if args.command == "create":
                key = await create_client(session, args.name, args.agency)
                print(f"API key for {args.name} (shown once): {key}")
            elif args.command == "list":
                for client in (await session.exec(select(ApiClient).order_by(ApiClient.name))).all():
                    state = "revoked" if client.revoked_at else "active"
                    print(f"{client.name}\t{client.key_prefix}…\t{','.join(client.agencies)}\t{state}")
            elif args.command == "revoke":
                result = await session.exec(select(ApiClient).where(ApiClient.name == args.name))
                revoked = result.first()
                if revoked is None:
                    raise SystemExit(f"no client named {args.name}")
                revoked.revoked_at = utcnow()
                await session.commit()
                print(f"revoked {args.name}")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m api.clients", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a client and print its key once")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--agency", action="append", required=True, help="agency code, or * for all; repeatable"
    )
    sub.add_parser("list", help="list clients (never their keys)")
    revoke = sub.add_parser("revoke", help="revoke a client's key")
    revoke.add_argument("--name", required=True)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
