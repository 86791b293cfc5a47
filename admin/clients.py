"""API clients and their keys.

python -m admin.clients create --name tthc --agency H21.65 [--agency H21.66]
python -m admin.clients list
python -m admin.clients revoke --name tthc
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.database import with_database
from db.clients import create_client, list_clients, revoke_client
from settings import get_settings


async def _command(session: AsyncSession, args: argparse.Namespace) -> int:
    if args.command == "create":
        key = await create_client(session, args.name, args.agency)
        print(f"API key for {args.name} (shown once): {key}")
    elif args.command == "list":
        for client in await list_clients(session):
            state = "revoked" if client.revoked_at else "active"
            print(f"{client.name}\t{client.key_prefix}…\t{','.join(client.agencies)}\t{state}")
    elif not await revoke_client(session, args.name):
        print(f"no client named {args.name}", file=sys.stderr)
        return 1
    else:
        print(f"revoked {args.name}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m admin.clients", description="API clients and their keys."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a client and print its key once")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--agency", action="append", required=True, help="agency code, or * for all; repeatable"
    )
    sub.add_parser("list", help="list clients (never their keys)")
    revoke = sub.add_parser("revoke", help="revoke a client's key")
    revoke.add_argument("--name", required=True)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(with_database(get_settings(), lambda session: _command(session, args))))


if __name__ == "__main__":
    main()
