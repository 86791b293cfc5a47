"""API clients and their keys: only a SHA-256 of each key is stored; a key is seen in clear once."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import ApiClient
from db.types import utcnow
from domain.codes import ALL_AGENCIES

LOCAL_CLIENT = "local"


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
    """Store a new client and return its key (the only time it is seen in clear); commits."""
    key = key or new_key()
    session.add(ApiClient(name=name, key_hash=hash_key(key), key_prefix=key[:12], agencies=agencies))
    await session.commit()
    return key


async def list_clients(session: AsyncSession) -> list[ApiClient]:
    return list((await session.exec(select(ApiClient).order_by(col(ApiClient.name)))).all())


async def revoke_client(session: AsyncSession, name: str) -> bool:
    """Revoke the key of the client called `name` (commits); False when there is none."""
    client = (await session.exec(select(ApiClient).where(ApiClient.name == name))).first()
    if client is None:
        return False
    client.revoked_at = utcnow()
    await session.commit()
    return True


async def ensure_local_client(session: AsyncSession, key: str) -> None:
    """Local mode: the printed key belongs to a client `local` that may act for every agency."""
    client = (await session.exec(select(ApiClient).where(ApiClient.name == LOCAL_CLIENT))).first()
    if client is None:
        await create_client(session, LOCAL_CLIENT, [ALL_AGENCIES], key)
    elif client.key_hash != hash_key(key) or client.revoked_at is not None:
        client.key_hash, client.key_prefix, client.revoked_at = hash_key(key), key[:12], None
        await session.commit()
