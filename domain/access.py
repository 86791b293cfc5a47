"""Who may do what on the officer desk."""

from __future__ import annotations

from enum import StrEnum


class DeskRole(StrEnum):
    OFFICER = "officer"  # reads and acts on dossiers
    VIEWER = "viewer"  # reads only (leadership, inspection)
