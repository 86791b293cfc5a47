"""Who is calling the machine API: the client behind the bearer key, and the agencies it may act for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.idempotency import CLIENT_STATE
from api.problems import Problem
from db.clients import find_client
from db.models import ApiClient
from domain.codes import ALL_AGENCIES, in_scope
from web.deps import SessionDep

_bearer = HTTPBearer(auto_error=False, description="The API key of the calling system")


async def get_client(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiClient:
    """The API client that the bearer key belongs to; 401 without a valid key. A keyed POST's client was
    looked up by the idempotency middleware for this very key a moment ago: it is not read again."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        problem = Problem(401, "send the API key as 'Authorization: Bearer <key>'", slug="unauthenticated")
        problem.headers = {"WWW-Authenticate": "Bearer"}
        raise problem
    found = getattr(request.state, CLIENT_STATE, None)
    if found is not None and found[0] == credentials.credentials:
        client: ApiClient | None = found[1]
    else:
        client = await find_client(session, credentials.credentials)
    if client is None:
        problem = Problem(401, "the API key is not valid or was revoked", slug="unauthenticated")
        problem.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        raise problem
    return client


def require_agency(client: ApiClient, agency_code: str) -> None:
    if not in_scope(client.agencies, agency_code):
        raise Problem(
            403, f"client '{client.name}' may not act for agency {agency_code}", slug="forbidden-agency"
        )


ClientDep = Annotated[ApiClient, Depends(get_client)]


def require_admin(client: ClientDep) -> ApiClient:
    """The calling client, if it may administer (its agencies include "*"); 403 otherwise."""
    if ALL_AGENCIES not in client.agencies:
        raise Problem(
            403,
            f"client '{client.name}' is not an administrator: only a key for all agencies (\"*\") "
            "may change the calendar or the agency directory",
            slug="forbidden-admin",
        )
    return client


AdminDep = Annotated[ApiClient, Depends(require_admin)]
