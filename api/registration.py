"""Registering a dossier from the machine API (the TTHC system's route and the national-portal sync):
the procedure is checked against the province's catalogue, then the gateway registers it.

The check never refuses: an unknown procedure code, or a working-days figure the catalogue does not have,
is registered as sent (the appointment on the citizen's receipt stands) and flagged on the timeline for
the administrator (db/procedures.py, `GET /api/v1/procedures/flagged`). The supplement rule the dossier
will follow (the catalogue's, or the law's default) travels in its workflow input.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from db.procedures import check_for_registration, record_check
from domain.dossier import DossierInput
from workflows.gateway import Gateway


async def register(session: AsyncSession, gateway: Gateway, registration: DossierInput) -> bool:
    """Register a received dossier (see Gateway.register); True when this call registered it."""
    registration, check = await check_for_registration(session, registration)
    created = await gateway.register(session, registration)
    if created:
        await record_check(session, registration, check)
    return created
