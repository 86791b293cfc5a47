"""The machine API: JSON for the TTHC systems (dossiers, the national-portal sync) and administrators
(calendar overrides, the agency directory, the procedure catalogue), the payment platform's and Zalo's
webhooks, and the codec server the Temporal UI decrypts through.

Routes translate (body → domain command, gateway outcome → answer) and nothing more; every error is a
problem detail (api/problems.py); every POST under /api/ honours `Idempotency-Key` (api/idempotency.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from api.idempotency import IdempotencyMiddleware
from api.problems import install_problem_handlers
from api.routes import agencies, calendar, codec, dossiers, dvcqg, payments, procedures, zalo
from settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the machine API's routes, its problem details and its idempotency on `app`."""
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware)
    for module in (dossiers, dvcqg, calendar, agencies, procedures, payments, zalo):
        app.include_router(module.router)
    codec.install_codec_server(app, settings)
