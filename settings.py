"""Every knob of the system, read once from environment variables and an optional `.env` file."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, MutableMapping
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain import rating_link
from domain.calendar import OfficeHours
from domain.codes import ALL_AGENCIES, workflow_id
from domain.dossier import DossierPolicy
from domain.limits import FEEDBACK_COUNTED, QUEUE_ADDRESS_WINDOW, QUEUE_PER_ADDRESS, Backoff, Counted
from domain.notices import OfficerRole
from domain.zns_templates import fake_template_id

PLACEHOLDER = "change-me"
# Secrets nobody may run production with: the sample's placeholder and the fake Zalo's own credentials.
KNOWN_SECRETS = frozenset(
    {"", PLACEHOLDER, "changeme", "secret", "fake-app-secret", "fake-oa-secret", "fake-refresh-token"}
)


def is_placeholder(secret: str) -> bool:
    return secret.strip().lower() in KNOWN_SECRETS or PLACEHOLDER in secret.lower()


ROOT = Path(__file__).resolve().parent
DATA_DIR = ROOT / ".data"
# AES-256-GCM: every payload key is 32 bytes, written in base64.
PAYLOAD_KEY_BYTES = 32
PAYLOAD_KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def parse_payload_keys(value: str) -> dict[str, bytes]:
    """`kid1:base64,kid2:base64` as {key id: key}; ValueError names the entry that is wrong."""
    keys: dict[str, bytes] = {}
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not PAYLOAD_KEY_ID_PATTERN.match(key_id):
            raise ValueError(f"PAYLOAD_KEYS entry {key_id[:20]!r} is not `<key id>:<base64 key>`")
        if encoded.strip() in ("", PLACEHOLDER):
            raise ValueError(f"PAYLOAD_KEYS key {key_id!r} is a placeholder")
        try:
            key = base64.b64decode(encoded.strip().replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"PAYLOAD_KEYS key {key_id!r} is not base64") from None
        if len(key) != PAYLOAD_KEY_BYTES:
            raise ValueError(f"PAYLOAD_KEYS key {key_id!r} has {len(key)} bytes; AES-256 needs 32")
        if key_id in keys:
            raise ValueError(f"PAYLOAD_KEYS names key {key_id!r} twice")
        keys[key_id] = key
    return keys


class Settings(BaseSettings):
    """Configuration of the API, the worker and the tools; every field is an env var of the same name."""

    # Errors never echo the input: it holds secrets (keys, tokens, database passwords).
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    # No default: a process that was not told where it runs refuses to start, rather than run open in
    # local mode (the image and compose say production; `make run` and the tests say local).
    app_env: Literal["local", "production"]
    log_level: str = "INFO"
    log_json: bool = False

    # Database: SQLite under .data/ locally, PostgreSQL in production.
    database_url: str = f"sqlite+aiosqlite:///{DATA_DIR / 'dossiers.db'}"
    # Connections per process: enough for the worker's concurrent activities and the API's requests.
    database_pool_size: int = 20
    database_max_overflow: int = 20

    # Temporal.
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "dossiers"
    temporal_ui_url: str = "http://localhost:8233"
    # A secured cluster (workflows/client.py `connect_options`, docs/deployment.md): TLS with the server's CA
    # (empty: the system's roots), mTLS with a client certificate and key, or Temporal Cloud's API key
    # (which implies TLS). Files in PEM.
    temporal_tls: bool = False
    temporal_tls_server_ca_cert: Path | None = None
    temporal_tls_server_name: str = ""
    temporal_tls_client_cert: Path | None = None
    temporal_tls_client_key: Path | None = None
    temporal_api_key: SecretStr = SecretStr("")

    # The API and pages.
    public_base_url: str = "http://localhost:8000"
    secret_key: SecretStr = SecretStr(PLACEHOLDER)
    local_api_key: SecretStr | None = None

    # Zalo: `fake` talks to the bundled fake server; `live` to Zalo itself with the credentials below.
    zalo_mode: Literal["fake", "live"] | None = None
    fake_zalo_url: str = "http://127.0.0.1:8300"
    zalo_app_id: str = ""
    zalo_app_secret: SecretStr = SecretStr("")
    zalo_oa_secret: SecretStr = SecretStr("")
    zalo_refresh_token: SecretStr = SecretStr("")
    zalo_oa_url: str = "https://openapi.zalo.me"
    zalo_zns_url: str = "https://business.openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_timeout_seconds: float = 10.0
    zns_template_ids: dict[str, str] = Field(default_factory=dict)
    # Refresh the access token (~25 h life) this long before it expires.
    zalo_token_refresh_margin_seconds: int = 3600
    # How long a send attempt owns a notice row; a newer attempt waits it out before it sends again. It
    # covers one attempt's own work (an OA call, then perhaps a ZNS fallback, each up to the timeout above),
    # so it is what a worker killed mid-send delays that notice by: at least 2 × ZALO_TIMEOUT_SECONDS + 5.
    zalo_send_lease_seconds: float = 30.0
    # A Zalo error code Zalo does not document is retried this many times, then recorded as final.
    zalo_unknown_code_attempts: int = Field(default=5, ge=1)
    # A signed webhook event older than this (or this far ahead of our clock) is refused: a captured
    # event cannot be replayed later. Zalo delivers within seconds.
    zalo_webhook_max_age_seconds: int = Field(default=600, gt=0)
    # Linking a Zalo account to a phone (api/zalo_linking.py): a one-time code by ZNS, valid this long and
    # for this many answers; per hour, codes a Zalo user may ask for and a phone may receive, and wrong
    # answers per account and per phone, before each further one waits (doubling, up to an hour).
    zalo_link_code_minutes: int = Field(default=5, gt=0, le=30)
    zalo_link_code_attempts: int = Field(default=3, gt=0, le=10)
    zalo_link_codes_per_hour: int = Field(default=3, gt=0)
    zalo_link_max_failures: int = Field(default=5, gt=0)
    # The fake Zalo server keeps what it received in this JSON-lines file (empty: memory only).
    fake_zalo_journal: str = str(DATA_DIR / "fake_zalo.jsonl")

    # Where citizens follow the province's OA (its page `https://zalo.me/<OA id>`): the QR code on every
    # receipt and on the service centre's poster. An agency's own `oa_url` in the directory wins; empty
    # here and there: the receipt prints no OA code and the poster says it is not configured.
    zalo_oa_follow_url: str = ""

    # Officers' Zalo user ids by agency ("*" for any) and escalation role.
    officer_zalo_ids: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    # Payments.
    payment_secret: SecretStr = SecretStr(PLACEHOLDER)

    # Request bodies, refused with 413 past these before anything reads them: the machine API and the codec,
    # and everything else (the payment and Zalo webhooks, the citizen and officer forms).
    max_api_body_bytes: int = Field(default=1 << 20, gt=0)
    max_form_body_bytes: int = Field(default=64 << 10, gt=0)

    # Idempotency-Key on the machine API's POSTs: how long an answer is replayed, and how long a claim may
    # go unrefreshed before a retry takes it over (a running request refreshes it every third of that: a
    # claim that stops moving belongs to an API process that died mid-request).
    idempotency_key_ttl_hours: float = Field(default=24.0, gt=0)
    idempotency_pending_timeout_seconds: float = Field(default=9.0, gt=0)

    # The office calendar, in office time (UTC+7, domain/timefmt.py).
    office_periods: list[tuple[time, time]] = Field(
        default_factory=lambda: [(time(7, 0), time(11, 30)), (time(13, 30), time(17, 0))]
    )
    cutoff_time: time = time(15, 0)
    working_weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    # How long the worker keeps the calendar (its overrides table) between reads: a change to the overrides
    # applies to deadlines computed from this many seconds after it. 0 reads the table at every call.
    calendar_cache_seconds: float = Field(default=30.0, ge=0)

    # PII in Temporal (docs/pii.md): payloads are AES-GCM encrypted when PAYLOAD_KEYS is set, as
    # `kid:base64,kid:base64`. New payloads use PAYLOAD_KEY_ID (may be empty when there is one key); every
    # listed key still decrypts, which is how keys rotate.
    payload_keys: SecretStr = SecretStr("")
    payload_key_id: str = ""
    # The codec server (/codec/encode, /codec/decode) the Temporal UI calls from officers' browsers:
    # callers show `Authorization: Bearer <CODEC_AUTH_TOKEN>` (empty: open only when APP_ENV=local).
    codec_auth_token: SecretStr = SecretStr("")
    # Browser origins allowed to call the codec (the Temporal UI's address); empty: TEMPORAL_UI_URL.
    codec_cors_origins: list[str] = Field(default_factory=list)
    # Officer roles whose desk session may decode applicants' data through the codec (their agencies only).
    codec_roles: list[str] = Field(default_factory=lambda: ["officer"])

    # Worker tuning (Temporal's defaults; lower them on a small machine, raise them with more workers).
    worker_max_concurrent_activities: int = Field(default=100, gt=0)
    worker_max_concurrent_workflow_tasks: int = Field(default=100, gt=1)  # the SDK needs 2 or more
    worker_max_concurrent_local_activities: int = Field(default=100, gt=0)
    # Workflows kept in memory between tasks (the sticky cache): replays are avoided for these.
    worker_max_cached_workflows: int = Field(default=1000, ge=0)
    # Run workflow code in the SDK's sandbox (it refuses non-deterministic calls). Off saves ≈ 20 % of the
    # worker's CPU (docs/performance.md); the tests and the replay of saved histories always run in it.
    worker_workflow_sandbox: bool = True
    # What this worker process runs on the task queue: "all" (one process, the default); or two processes,
    # "workflows" (workflow tasks with their local activities: the calendar, the projection) and
    # "activities" (the notice sends and resends), each with its own interpreter, so a burst of workflow
    # tasks cannot starve the sends of the one core a Python process uses (docs/performance.md §6).
    worker_runs: Literal["all", "workflows", "activities"] = "all"
    # On SIGTERM, how long running activities get to finish before they are cancelled.
    worker_graceful_shutdown_seconds: float = Field(default=30.0, ge=0)

    # Observability: the worker's Temporal SDK metrics for Prometheus at this host:port (empty: off).
    worker_metrics_bind_address: str = ""
    # The API's /metrics reads counts from the database at most this often.
    metrics_db_cache_seconds: float = Field(default=15.0, ge=0)

    # Notices.
    quiet_hours_start: time = time(22, 0)
    quiet_hours_end: time = time(6, 0)
    # The send activity's own quiet-hours check on the wall clock (the workflow decides first).
    notice_quiet_hours_guard: bool = True
    # Who signs the notices citizens read.
    notice_office_name: str = "Bộ phận Một cửa"

    # Rate limits (db/ratelimit.py): counted in the database, so every API replica shares them, and per
    # client address as TRUSTED_PROXIES resolve it. Each number is the attempts that go through at once
    # per window; after that each attempt waits twice as long as the last (from RATE_FIRST_WAIT_SECONDS),
    # up to RATE_CEILING_SECONDS per address, and SHARED_KEY_CEILING_SECONDS for a dossier code or a user
    # name (those belong to someone: guessing at them slows down, it never locks their owner out).
    page_rate_window_seconds: int = Field(default=900, gt=0)
    lookup_max_per_address: int = Field(default=60, gt=0)  # every lookup with a code and digits
    lookup_max_failures_per_address: int = Field(default=10, gt=0)  # wrong code or digits
    lookup_max_failures_per_code: int = Field(default=10, gt=0)  # from any address: 4 digits are guessable
    login_max_failures: int = Field(default=10, gt=0)  # per address and per user name
    rate_first_wait_seconds: float = Field(default=5.0, gt=0)
    rate_ceiling_seconds: float = Field(default=900.0, gt=0)
    shared_key_ceiling_seconds: float = Field(default=300.0, gt=0)
    # Client addresses (IPs or CIDRs) of the reverse proxies whose X-Forwarded-For is believed; empty: none
    # (the connecting address is the client's). Compose: the Docker network's gateway, where the host's
    # proxy connects from (docs/deployment.md).
    trusted_proxies: list[str] = Field(default_factory=list)
    # Feedback (phản ánh, kiến nghị) from citizens: an officer answers within this many working days
    # (docs/citizen-services.md); per FEEDBACK_WINDOW_HOURS, a client address, a dossier's phone or a Zalo
    # account sends this many before each further one waits (doubling from a minute, up to the window).
    feedback_answer_working_days: int = Field(default=10, gt=0, le=60)
    feedback_per_window: int = Field(default=5, gt=0)
    feedback_window_hours: int = Field(default=24, gt=0)
    officer_session_idle_minutes: int = 120
    officer_session_max_hours: int = 12
    # Local mode: the API keeps an officer `canbo` (every agency) with this password (`make run` prints it).
    local_officer_password: SecretStr | None = None

    @property
    def effective_zalo_mode(self) -> Literal["fake", "live"]:
        """Fake locally unless told otherwise; live in production unless `ZALO_MODE=fake` is set."""
        if self.zalo_mode is not None:
            return self.zalo_mode
        return "fake" if self.app_env == "local" else "live"

    def backoff(self, counted: Counted) -> Backoff:
        """How attempts of one kind slow down (domain/limits.py), from the settings above."""
        window = timedelta(seconds=self.page_rate_window_seconds)
        first = timedelta(seconds=self.rate_first_wait_seconds)
        full = timedelta(seconds=self.rate_ceiling_seconds)
        shared = timedelta(seconds=self.shared_key_ceiling_seconds)
        minute, hour = timedelta(minutes=1), timedelta(hours=1)
        policies = {
            Counted.LOOKUP: Backoff(self.lookup_max_per_address, first, full, window),
            Counted.LOOKUP_MISS_ADDRESS: Backoff(self.lookup_max_failures_per_address, first, full, window),
            Counted.LOOKUP_MISS_CODE: Backoff(self.lookup_max_failures_per_code, first, shared, window),
            Counted.RATING_MISS_ADDRESS: Backoff(self.lookup_max_failures_per_address, first, full, window),
            Counted.LOGIN_FAIL_ADDRESS: Backoff(self.login_max_failures, first, full, window),
            Counted.LOGIN_FAIL_USER: Backoff(self.login_max_failures, first, shared, window),
            Counted.LINK_CODE_USER: Backoff(self.zalo_link_codes_per_hour, minute, hour, hour),
            Counted.LINK_CODE_PHONE: Backoff(self.zalo_link_codes_per_hour, minute, hour, hour),
            Counted.LINK_VERIFY_USER: Backoff(self.zalo_link_max_failures, first, hour, hour),
            Counted.LINK_VERIFY_PHONE: Backoff(self.zalo_link_max_failures, first, hour, hour),
        }
        feedback_window = timedelta(hours=self.feedback_window_hours)
        feedback = Backoff(self.feedback_per_window, minute, feedback_window, feedback_window)
        policies |= {kind: feedback for kind in FEEDBACK_COUNTED}
        policies[Counted.QUEUE_ADDRESS] = Backoff(
            QUEUE_PER_ADDRESS, minute, QUEUE_ADDRESS_WINDOW, QUEUE_ADDRESS_WINDOW
        )
        return policies[counted]

    def office_hours(self) -> OfficeHours:
        """The office's hours as configured (ValueError when they make no sense)."""
        return OfficeHours(
            periods=tuple((start, end) for start, end in self.office_periods),
            cutoff=self.cutoff_time,
            weekdays=frozenset(self.working_weekdays),
        )

    def dossier_policy(self) -> DossierPolicy:
        """The office's rules a new dossier starts with (fixed for its life, visible in its history)."""
        return DossierPolicy(
            quiet_hours_start=self.quiet_hours_start.strftime("%H:%M"),
            quiet_hours_end=self.quiet_hours_end.strftime("%H:%M"),
            working_day_seconds=int(self.office_hours().day_length.total_seconds()),
        )

    def zns_template_id(self, key: str) -> str | None:
        """The id Zalo gave the ZNS template `key` (ZNS_TEMPLATE_IDS); in fake mode the fake's stand-in;
        None when it is not configured."""
        configured = self.zns_template_ids.get(key)
        if configured:
            return configured
        return fake_template_id(key) if self.effective_zalo_mode == "fake" else None

    def lookup_url(self, code: str) -> str:
        """The citizen lookup page of a dossier (notices link to it)."""
        return f"{self.public_base_url.rstrip('/')}/tra-cuu?code={code}"

    def queue_ticket_url(self, token: str) -> str:
        """The status page of a queue number (its link is the only way to it)."""
        return f"{self.public_base_url.rstrip('/')}/lay-so/ve/{token}"

    def rating_url(self, code: str, rate_by: datetime | str) -> str:
        """The one-tap rating link of a returned dossier, good until `rate_by` (domain/rating_link.py)."""
        expires = rate_by if isinstance(rate_by, datetime) else datetime.fromisoformat(rate_by)
        token = rating_link.sign(self.secret_key.get_secret_value().encode(), code, expires)
        return f"{self.public_base_url.rstrip('/')}/danh-gia/{token}"

    def procedures_url(self, query: str = "") -> str:
        """The public list of procedures, searched for `query` when given (the OA's "TT <words>" links)."""
        base = f"{self.public_base_url.rstrip('/')}/thu-tuc"
        return f"{base}?{urlencode({'q': query})}" if query else base

    def procedure_url(self, code: str) -> str:
        """The public page of one procedure of the catalogue."""
        return f"{self.public_base_url.rstrip('/')}/thu-tuc/{quote(code, safe='')}"

    def oa_follow_url(self, agency_oa_url: str = "") -> str:
        """Where a citizen follows the OA: the agency's own link from the directory, else
        ZALO_OA_FOLLOW_URL; "" when neither is set. Only web links count."""
        for url in (agency_oa_url, self.zalo_oa_follow_url):
            if url.startswith(("https://", "http://")):
                return url
        return ""

    def officers_for(self, agency_code: str, role: str = OfficerRole.OFFICER.value) -> list[str]:
        """The Zalo user ids of an agency's officers in `role` (OFFICER_ZALO_IDS; "*" for any agency)."""
        by_role = self.officer_zalo_ids.get(agency_code) or self.officer_zalo_ids.get(ALL_AGENCIES) or {}
        return list(by_role.get(role, []))

    def temporal_ui_link(self, code: str) -> str:
        """The dossier's workflow in the Temporal UI."""
        return f"{self.temporal_ui_url}/namespaces/{self.temporal_namespace}/workflows/{workflow_id(code)}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def payload_keyring(self) -> dict[str, bytes]:
        """The payload keys by id (empty: payloads are stored as they are)."""
        return parse_payload_keys(self.payload_keys.get_secret_value())

    @property
    def payload_encryption_key_id(self) -> str | None:
        """The key new payloads are encrypted with; None when encryption is off."""
        keys = self.payload_keyring()
        if not keys:
            return None
        return self.payload_key_id or next(iter(keys))

    @property
    def codec_origins(self) -> list[str]:
        return self.codec_cors_origins or [self.temporal_ui_url.rstrip("/")]

    @field_validator("worker_metrics_bind_address")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        if value and not re.match(r"^[^:\s]+:\d{1,5}$", value):
            raise ValueError("WORKER_METRICS_BIND_ADDRESS is host:port, e.g. 0.0.0.0:9464")
        return value

    @model_validator(mode="after")
    def _check_send_lease(self) -> Settings:
        if self.zalo_send_lease_seconds < 2 * self.zalo_timeout_seconds + 5:
            raise ValueError(
                "ZALO_SEND_LEASE_SECONDS must cover a send attempt: at least 2 × ZALO_TIMEOUT_SECONDS + 5"
            )
        return self

    @model_validator(mode="after")
    def _check_temporal_tls(self) -> Settings:
        if (self.temporal_tls_client_cert is None) != (self.temporal_tls_client_key is None):
            raise ValueError("TEMPORAL_TLS_CLIENT_CERT and TEMPORAL_TLS_CLIENT_KEY go together (mTLS)")
        return self

    @property
    def temporal_uses_tls(self) -> bool:
        """TLS to Temporal: asked for, or implied by a CA, a client certificate or an API key."""
        return bool(
            self.temporal_tls
            or self.temporal_tls_server_ca_cert
            or self.temporal_tls_client_cert
            or self.temporal_api_key.get_secret_value()
        )

    @model_validator(mode="after")
    def _check_payload_keys(self) -> Settings:
        keys = self.payload_keyring()  # raises on a malformed entry, in every environment
        if self.payload_key_id and self.payload_key_id not in keys:
            raise ValueError(f"PAYLOAD_KEY_ID {self.payload_key_id!r} is not one of PAYLOAD_KEYS")
        if len(keys) > 1 and not self.payload_key_id:
            raise ValueError("PAYLOAD_KEYS lists several keys: PAYLOAD_KEY_ID must say which encrypts")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.app_env != "production":
            return self
        problems = [
            f"{name.upper()} is a placeholder"
            for name, value in (("secret_key", self.secret_key), ("payment_secret", self.payment_secret))
            if is_placeholder(value.get_secret_value())
        ]
        if self.zalo_mode == "fake":
            problems.append("ZALO_MODE=fake: production sends notices to Zalo itself")
        problems += [
            f"{name.upper()} is missing"
            for name, value in (
                ("zalo_app_id", self.zalo_app_id),
                ("zalo_app_secret", self.zalo_app_secret.get_secret_value()),
                ("zalo_oa_secret", self.zalo_oa_secret.get_secret_value()),
                ("zalo_refresh_token", self.zalo_refresh_token.get_secret_value()),
            )
            if not value
        ]
        problems += [
            f"{name.upper()} is a placeholder"
            for name, value in (
                ("zalo_app_secret", self.zalo_app_secret),
                ("zalo_oa_secret", self.zalo_oa_secret),
                ("zalo_refresh_token", self.zalo_refresh_token),
            )
            if value.get_secret_value() and is_placeholder(value.get_secret_value())
        ]
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL points at SQLite; production runs on PostgreSQL")
        elif f":{PLACEHOLDER}@" in self.database_url:
            problems.append("DATABASE_URL has a placeholder password")
        if not self.payload_keys.get_secret_value():
            problems.append(
                "PAYLOAD_KEYS is missing: production keeps applicants' data encrypted in Temporal"
            )
        if self.codec_auth_token.get_secret_value() == PLACEHOLDER:
            problems.append("CODEC_AUTH_TOKEN is a placeholder")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


# What a log line may never carry, whatever wrote it (our code, an exception's text, a library): phone
# numbers in any form people type, bearer tokens, our API keys. Fields named like a secret are blanked.
_PHONE_IN_TEXT = re.compile(r"(?<![0-9])(?:\+?84|0)[\s.-]?[35789](?:[\s.-]?[0-9]){8}(?![0-9])")
_BEARER_IN_TEXT = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_API_KEY_IN_TEXT = re.compile(r"\bdtk_[A-Za-z0-9_-]{8,}")
_SECRET_FIELDS = re.compile(r"(?i)password|secret|token|authorization|api_key|cookie|phone")
REDACTED = "[redacted]"


def scrub(value: object) -> object:
    """`value` with every phone number, bearer token and API key in its strings replaced."""
    if isinstance(value, str):
        value = _PHONE_IN_TEXT.sub("[phone]", value)
        value = _BEARER_IN_TEXT.sub(r"\1" + REDACTED, value)
        return _API_KEY_IN_TEXT.sub(REDACTED, value)
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and _SECRET_FIELDS.search(key) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def _scrub_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    scrubbed = scrub(dict(event))
    assert isinstance(scrubbed, dict)
    return scrubbed


def configure_logging(settings: Settings, process: str) -> None:
    """One event per line: JSON in production (or LOG_JSON=true), readable key=value locally.

    No renderer prints a frame's local variables (structlog's default does): a failing request holds the
    API key, a login the password, a registration the phone. Whatever is left (an exception's own text) is
    scrubbed of phone numbers, bearer tokens and API keys. Every logger goes this way: ours, the Temporal
    SDK's and uvicorn's (which configures its own handlers before it loads the app).
    """
    import logging

    import structlog
    from structlog.tracebacks import ExceptionDictTransformer

    json_lines = settings.log_json or settings.app_env == "production"
    exceptions: structlog.types.Processor = (
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        if json_lines
        else structlog.processors.format_exc_info
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exceptions,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        # Not cached: a logger used once before this ran (at import) would keep structlog's default chain,
        # whose console renderer prints local variables.
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _scrub_event, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers print plain text with its own formatter: its lines go our way instead.
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    structlog.contextvars.bind_contextvars(process=process)
