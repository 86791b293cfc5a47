"""The procedure catalogue over HTTP for administrators (the same tables as `python -m admin.procedures`).

Only a client whose agencies include "*" reads or loads it. Loading makes a new version, in force for
dossiers registered from then on; a dossier keeps the version (and the supplement rule) it was received
under. `flagged` lists the dossiers whose procedure did not match the catalogue when they arrived.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.keys import AdminDep
from api.openapi import problems
from api.problems import Problem
from api.schemas.procedures import (
    CatalogueIn,
    CatalogueOut,
    FlaggedOut,
    ProcedureOut,
    ProcedureSummary,
    SupplementRuleOut,
    VersionOut,
)
from db.procedures import (
    catalogue_procedure,
    catalogue_procedures,
    current_version,
    flagged,
    load_catalogue,
    versions,
)
from domain.procedures import CODE_PATTERN, CatalogueEntry, CatalogueError, check_catalogue
from web.deps import SessionDep

router = APIRouter(prefix="/api/v1/procedures", tags=["procedures"])

DESCRIPTIONS = {
    403: 'Only an administrator\'s key (agencies "*") may read or load the procedure catalogue',
    404: "The catalogue (of this version) has no procedure with this code",
}

CodePath = Annotated[
    str, Path(pattern=CODE_PATTERN, max_length=40, description="Procedure code", examples=["2.000908"])
]


def _rule(entry: CatalogueEntry) -> SupplementRuleOut:
    return SupplementRuleOut(
        max_requests=entry.supplement.max_requests,
        restart_count=entry.supplement.restart_count,
        supply_within_days=entry.supplement.supply_within_days,
    )


@router.get("", response_model=CatalogueOut, responses=problems(401, 403, descriptions=DESCRIPTIONS))
async def catalogue_in_force(_: AdminDep, session: SessionDep) -> CatalogueOut:
    """The catalogue in force: its version and every procedure, by code."""
    version = await current_version(session)
    entries = await catalogue_procedures(session, version)
    return CatalogueOut(
        version=version,
        procedures=[
            ProcedureSummary(
                code=e.code, name=e.name, level=e.level, working_days=e.working_days, supplement=_rule(e)
            )
            for e in entries
        ],
    )


@router.get(
    "/versions", response_model=list[VersionOut], responses=problems(401, 403, descriptions=DESCRIPTIONS)
)
async def list_versions(_: AdminDep, session: SessionDep) -> list[VersionOut]:
    """Every version loaded, newest (in force) first."""
    return [
        VersionOut(
            version=v.catalogue.version or 0,
            loaded_at=v.catalogue.loaded_at,
            loaded_by=v.catalogue.loaded_by,
            source=v.catalogue.source,
            procedures=v.procedures,
            about=v.catalogue.about,
        )
        for v in await versions(session)
    ]


@router.post(
    "/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    responses=problems(
        401, 403, 422, descriptions={**DESCRIPTIONS, 422: "A procedure of the catalogue is wrong"}
    ),
)
async def load_version(client: AdminDep, session: SessionDep, body: CatalogueIn) -> VersionOut:
    """Load a whole catalogue as a new version, in force for dossiers registered from now on. Nothing is
    written when any procedure is wrong: the problem lists each (`errors`)."""
    document = body.model_dump()
    try:
        entries = check_catalogue(document)
    except CatalogueError as error:
        raise Problem(
            422,
            error.problems_en[0] if len(error.problems_en) == 1 else f"{len(error.problems_en)} problems",
            slug="invalid-catalogue",
            title="Invalid catalogue",
            errors=[
                {"msg": en, "msg_vi": vi, "type": "value_error"}
                for en, vi in zip(error.problems_en, error.problems, strict=True)
            ],
        ) from None
    about = {key: document[key] for key in ("province", "compiled_at", "notes", "sources") if document[key]}
    catalogue = await load_catalogue(session, entries, loaded_by=client.name, source="api", about=about)
    assert catalogue.version is not None
    return VersionOut(
        version=catalogue.version,
        loaded_at=catalogue.loaded_at,
        loaded_by=catalogue.loaded_by,
        source=catalogue.source,
        procedures=len(entries),
        about=catalogue.about,
    )


@router.get(
    "/flagged", response_model=list[FlaggedOut], responses=problems(401, 403, descriptions=DESCRIPTIONS)
)
async def list_flagged(_: AdminDep, session: SessionDep) -> list[FlaggedOut]:
    """Dossiers registered with a procedure code the catalogue lacked, or with other working days than it
    says, newest first: each was registered as sent; the catalogue or the TTHC system needs a look."""
    return [FlaggedOut(**vars(f)) for f in await flagged(session)]


@router.get(
    "/{procedure_code}",
    response_model=ProcedureOut,
    responses=problems(401, 403, 404, 422, descriptions=DESCRIPTIONS),
)
async def get_procedure(
    _: AdminDep,
    session: SessionDep,
    procedure_code: CodePath,
    version: Annotated[int | None, Query(ge=1, description="A past version (default: in force)")] = None,
) -> ProcedureOut:
    """One procedure of the catalogue in force (or of `version`)."""
    entry = await catalogue_procedure(session, procedure_code, version)
    if entry is None:
        raise Problem(404, f"the catalogue has no procedure {procedure_code}", slug="procedure-not-found")
    return ProcedureOut.model_validate(entry.to_json())
