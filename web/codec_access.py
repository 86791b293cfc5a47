"""Who may read applicants' data through the codec server, shared by its authenticators (the officer
desk's session in pages/, the CLI's bearer token in api/) and the server itself (api/routes/codec.py).

A caller reads personal data only if their role may (CODEC_ROLES: by default `officer`, not `viewer`),
and only of their agencies' dossiers: every encrypted payload names the workflow it belongs to, whose
dossier code names the agency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from fastapi import Request

from domain.codes import ALL_AGENCIES, in_scope


@dataclass(frozen=True)
class CodecCaller:
    """Who is calling (for the audit log), their agencies, and whether their role reads personal data."""

    name: str
    agencies: frozenset[str]
    may_read: bool

    @classmethod
    def of(cls, name: str, agencies: Collection[str], may_read: bool) -> CodecCaller:
        return cls(name, frozenset(agencies), may_read)

    def may_read_agency(self, agency: str | None) -> bool:
        """Whether this caller may read a payload of `agency` (None: a workflow that is no dossier)."""
        if not self.may_read:
            return False
        if agency is None:
            return ALL_AGENCIES in self.agencies
        return in_scope(self.agencies, agency)


# Recognises the request's caller, or None when this way in does not apply to it.
CodecAuthenticator = Callable[[Request], Awaitable[CodecCaller | None]]
