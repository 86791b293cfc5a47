"""Registering a dossier from the machine API (the TTHC system's route and the national-portal sync):
the procedure is checked against the province's catalogue, then the gateway registers it.

The check never refuses: an unknown procedure code, or a working-days figure the catalogue does not have,
is registered as sent (the appointment on the citizen's receipt stands) and flagged on the timeline for
the administrator (db/procedures.py, `GET /api/v1/procedures/flagged`). The supplement rule the dossier
will follow (the catalogue's, or the law's default) travels in its workflow input.
"""

from __future__ import annotations

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Dossier
from db.procedures import check_for_registration, record_check
from domain.dossier import DossierInput
from workflows.gateway import Gateway

log = structlog.get_logger(__name__)


async def register(session: AsyncSession, gateway: Gateway, registration: DossierInput) -> bool:
    """Register a received dossier (see Gateway.register); True when this call registered it.

    The call that found no row records the check, also when the workflow then did not answer: the row
    stays, and the TTHC system's retry finds it (a later catalogue must not be the one it is compared
    with). Recording it twice changes nothing."""
    registration, check = await check_for_registration(session, registration)
    new = await session.get(Dossier, registration.code) is None
    try:
        created = await gateway.register(session, registration)
    except Exception:
        if new:
            try:
                await record_check(session, registration, check)
            except Exception:  # the gateway's error is the answer; this one is only logged
                log.warning("registration.check_not_recorded", dossier_code=registration.code, exc_info=True)
        raise
    if new:
        await record_check(session, registration, check)
    return created
