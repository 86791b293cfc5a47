"""The custom search attributes officers filter on in the Temporal UI (no personal data here, ever)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

DOSSIER_STATUS = SearchAttributeKey.for_keyword("DossierStatus")
AGENCY_CODE = SearchAttributeKey.for_keyword("AgencyCode")
PROCEDURE_CODE = SearchAttributeKey.for_keyword("ProcedureCode")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
OVERDUE = SearchAttributeKey.for_bool("Overdue")

ALL = (DOSSIER_STATUS, AGENCY_CODE, PROCEDURE_CODE, DUE_AT, OVERDUE)


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "BOOL": "Bool"}
    return [
        arg
        for key in ALL
        for arg in ("--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name.split('_')[-1]]}")
    ]
