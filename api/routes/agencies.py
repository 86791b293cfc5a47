"""The agency directory over HTTP for administrators (the same table as `python -m admin.agencies`).

Only a client whose agencies include "*" manages it: notices and pages of every agency read it. A change
applies to notices composed and pages shown from then on; notices already composed keep their text.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api.keys import AdminDep
from api.openapi import problems
from api.problems import Problem
from api.schemas.agencies import AgencyIn, AgencyOut, UnknownAgencyOut
from db.agencies import AgencyError, list_agencies, remove_agency, set_agency, unknown_codes
from db.models import Agency
from domain.codes import AGENCY_CODE_PATTERN
from web.deps import SessionDep

router = APIRouter(prefix="/api/v1/agencies", tags=["agencies"])

DESCRIPTIONS = {
    403: 'Only an administrator\'s key (agencies "*") may manage the agency directory',
    404: "The directory has no agency with this code",
}

CodePath = Annotated[
    str,
    Path(pattern=AGENCY_CODE_PATTERN, max_length=40, description="Agency code", examples=["H21.65"]),
]


def _out(row: Agency) -> AgencyOut:
    return AgencyOut(
        code=row.code,
        name=row.name,
        address=row.address,
        hotline=row.hotline,
        opening_hours=row.opening_hours,
        oa_url=row.oa_url,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _not_found(code: str) -> Problem:
    return Problem(404, f"the directory has no agency {code}", slug="agency-not-found")


@router.get("", response_model=list[AgencyOut], responses=problems(401, 403, descriptions=DESCRIPTIONS))
async def list_directory(_: AdminDep, session: SessionDep) -> list[AgencyOut]:
    """Every agency of the directory, by code."""
    return [_out(row) for row in await list_agencies(session)]


@router.get(
    "/unknown",
    response_model=list[UnknownAgencyOut],
    responses=problems(401, 403, descriptions=DESCRIPTIONS),
)
async def list_unknown_agencies(_: AdminDep, session: SessionDep) -> list[UnknownAgencyOut]:
    """Agency codes that dossiers use and the directory lacks, with how many dossiers each holds: their
    notices and pages name the agency neutrally until it is added."""
    return [UnknownAgencyOut(code=code, dossiers=n) for code, n in await unknown_codes(session)]


@router.get(
    "/{code}", response_model=AgencyOut, responses=problems(401, 403, 404, 422, descriptions=DESCRIPTIONS)
)
async def get_agency(_: AdminDep, session: SessionDep, code: CodePath) -> AgencyOut:
    """One agency of the directory; 404 when the directory lacks it (it is then named neutrally)."""
    row = await session.get(Agency, code)
    if row is None:
        raise _not_found(code)
    return _out(row)


@router.put(
    "/{code}",
    response_model=AgencyOut,
    responses={
        201: {"description": "The agency was not in the directory before", "model": AgencyOut},
        **problems(401, 403, 422, descriptions=DESCRIPTIONS),
    },
)
async def put_agency(
    _: AdminDep, session: SessionDep, code: CodePath, body: AgencyIn, response: Response
) -> AgencyOut:
    """Add an agency or replace every field of one (fields left out become empty)."""
    try:
        row, created = await set_agency(session, code, body.model_dump())
    except AgencyError as error:
        raise Problem(
            422,
            str(error),
            slug="invalid-request",
            title="Invalid request",
            errors=[{"loc": ["body", error.field], "msg": str(error), "type": "value_error"}],
        ) from None
    if created:
        response.status_code = status.HTTP_201_CREATED
    return _out(row)


@router.delete(
    "/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(401, 403, 404, 422, descriptions=DESCRIPTIONS),
)
async def delete_agency(_: AdminDep, session: SessionDep, code: CodePath) -> Response:
    """Remove an agency: its dossiers' notices and pages name it neutrally from then on."""
    if not await remove_agency(session, code):
        raise _not_found(code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
