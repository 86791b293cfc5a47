"""SQLModel tables: the long-term record of every dossier, its timeline, notices and payments.

The dossier workflow is the source of truth while it runs; these tables are its projection (written by
activities, each timeline `seq` applied at most once) and the record kept for years after Temporal's
retention period.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, BigInteger, Column, Index, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from db.types import JSONType, UTCDateTime, utcnow


def _utc(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Dossier(SQLModel, table=True):
    """One row per dossier: the registration as received plus the current state."""

    __tablename__ = "dossiers"
    # The list pages in (due_at, code) order, whole or filtered: each index ends with that order.
    __table_args__ = (
        Index("ix_dossiers_due_at_code", "due_at", "code"),
        Index("ix_dossiers_status_due_at", "status", "due_at", "code"),
        Index("ix_dossiers_agency_due_at", "agency_code", "due_at", "code"),
        Index("ix_dossiers_overdue_due_at", "overdue", "due_at", "code"),
        # The list's `q`, a part of the code: trigrams on PostgreSQL (migration 0010), plain on SQLite.
        # The operator class is pg_trgm's, in the public schema (see the table's before_create below).
        Index(
            "ix_dossiers_code_trgm",
            "code",
            postgresql_using="gin",
            postgresql_ops={"code": "public.gin_trgm_ops"},
        ),
    )

    code: str = Field(primary_key=True, max_length=40)
    agency_code: str = Field(max_length=40)
    procedure_code: str = Field(max_length=40, index=True)
    procedure_name: str = Field(max_length=500)
    working_days: int
    channel: str = Field(max_length=20)
    applicant_name: str = Field(max_length=200)
    applicant_phone: str = Field(max_length=20, index=True)
    applicant_zalo_user_id: str | None = Field(default=None, max_length=64)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # SHA-256 of the registration body as first sent: the same code with another body is a 409.
    fingerprint: str = Field(max_length=64)

    status: str = Field(default="received", max_length=30)
    dvcqg_status: int = 2
    due_at: datetime | None = _utc(nullable=True)
    overdue: bool = False
    apologized: bool = False
    escalation_level: int = 0
    on_time: bool | None = None
    finished_at: datetime | None = _utc(nullable=True)
    # Fee, supplement, result and clock details as the workflow last reported them (no PII).
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    last_seq: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # The procedure catalogue the dossier was received under (None: none was loaded, or registered
    # before the catalogue existed) and the supplement rule it follows (None: no limit, as before).
    catalogue_version: int | None = None
    supplement_max_requests: int | None = None
    supplement_restarts: bool | None = None
    # The citizen's deadline to supply a supplement, in working days (None: the law's default).
    supplement_supply_within_days: int | None = None
    # The procedure's internal steps as the catalogue gave them at registration ([{name, unit, hours}]);
    # None: none (registered before steps were followed, or the procedure is not in the catalogue).
    steps: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # Submitted online and not yet received when registered: its workflow starts in `submitted`.
    submitted: bool = False


# Tables made from the models (tests, `create_all`) need pg_trgm as the migrations install it (0010).
event.listen(
    Dossier.__table__,  # type: ignore[attr-defined]
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public").execute_if(dialect="postgresql"),  # type: ignore[no-untyped-call]
)


class DossierEvent(SQLModel, table=True):
    """The timeline, append-only: one row per workflow event `seq`."""

    __tablename__ = "dossier_events"
    __table_args__ = (UniqueConstraint("dossier_code", "seq", name="uq_dossier_events_code_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(foreign_key="dossiers.code", max_length=40)
    seq: int
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: str = Field(max_length=40)
    by: str = Field(max_length=100)
    event_id: str | None = Field(default=None, max_length=100)  # the caller's id, for repeats after the end
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Notice(SQLModel, table=True):
    """The delivery log: one row per notice and recipient, keyed `<workflow id>:<seq>:<kind>[:<officer>]`."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_dossier_seq", "dossier_code", "seq"),
        Index("ix_notices_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    dossier_code: str = Field(foreign_key="dossiers.code", max_length=40)
    seq: int
    kind: str = Field(max_length=40)
    audience: str = Field(max_length=20)
    # Officer notices name their recipient (a Zalo user id); citizen notices resolve it when sent.
    recipient: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=10)  # "oa" or "zns", chosen when sent
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    text: str | None = None
    status: str = Field(default="queued", max_length=20)
    scheduled_for: datetime | None = _utc(nullable=True)
    zalo_message_id: str | None = Field(default=None, max_length=100)
    # What ZNS echoes in delivery receipts: derived from `key` (Zalo allows 48 characters).
    tracking_id: str | None = Field(default=None, max_length=48, index=True)
    attempts: int = 0
    # Set while a send attempt owns the row (before the Zalo call); cleared when the outcome is recorded.
    sending_since: datetime | None = _utc(nullable=True)
    last_error: str | None = None
    # The parameters of the ZNS template, composed with `text` when the notice was recorded.
    zns_params: dict[str, str] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # A failure an officer has dealt with (marked handled on the desk): who and when.
    handled_by: str | None = Field(default=None, max_length=100)
    handled_at: datetime | None = _utc(nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = _utc(nullable=True)
    delivered_at: datetime | None = _utc(nullable=True)


class Agency(SQLModel, table=True):
    """An agency that holds dossiers, as citizens and officers should read it: the agency directory.

    Notices and pages name the agency of a dossier and its hotline from here; a code that has no row is
    shown with a neutral name and listed for the administrator (`python -m admin.agencies unknown`).
    """

    __tablename__ = "agencies"

    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=300)  # e.g. "UBND huyện Chư Păh"
    address: str = Field(default="", max_length=500)
    hotline: str = Field(default="", max_length=30)
    opening_hours: str = Field(default="", max_length=200)
    oa_url: str = Field(default="", max_length=300)  # where a citizen follows the province's OA
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ProcedureCatalogue(SQLModel, table=True):
    """One loaded version of the province's procedure catalogue (loaded whole; the newest is in force)."""

    __tablename__ = "procedure_catalogues"

    version: int | None = Field(default=None, primary_key=True)
    loaded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    loaded_by: str = Field(max_length=100)  # an API client's name or "cli"
    source: str = Field(default="", max_length=300)  # the file's name, as given
    # The document's own words: province, notes, sources, as the file had them.
    about: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class CatalogueProcedure(SQLModel, table=True):
    """A procedure of one catalogue version: the columns registration compares, the whole entry in JSON."""

    __tablename__ = "catalogue_procedures"

    version: int = Field(foreign_key="procedure_catalogues.version", primary_key=True)
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=500)
    working_days: int
    supplement_max_requests: int
    supplement_restarts: bool
    entry: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class Payment(SQLModel, table=True):
    """Every payment the platform or the TTHC system reported, once per transaction id."""

    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: str = Field(max_length=100, unique=True)
    # None: the payment platform named a dossier we do not know (outcome unknown_dossier).
    dossier_code: str | None = Field(default=None, foreign_key="dossiers.code", max_length=40, index=True)
    # BIGINT: a land-use fee passes the 2.1 billion VND that a PostgreSQL INTEGER holds.
    amount_vnd: int = Field(sa_column=Column(BigInteger, nullable=False))
    # applied, underpaid, not_due (the workflow); failed, unknown_dossier (the payment webhook).
    outcome: str = Field(max_length=20)
    source: str = Field(max_length=20)  # api, webhook, dvcqg
    # What the payment platform sent: its reference (MaThamChieu) and, for a failed payment, MaLoi.
    reference: str | None = Field(default=None, max_length=100)
    error_code: str | None = Field(default=None, max_length=10)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PaymentConflict(SQLModel, table=True):
    """A payment reported for one dossier with a transaction id already recorded for another: never
    applied, kept for officers, who are told once (`notified_at`)."""

    __tablename__ = "payment_conflicts"
    __table_args__ = (UniqueConstraint("transaction_id", "named", name="uq_payment_conflicts_named"),)

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: str = Field(max_length=100)
    # The dossier the report named (its code, or the platform's reference when it names none).
    named: str = Field(max_length=100, index=True)
    # The dossier the transaction is recorded for (None: recorded without one, for an unknown reference).
    held_by: str | None = Field(default=None, max_length=40)
    amount_vnd: int = Field(sa_column=Column(BigInteger, nullable=False))
    source: str = Field(max_length=20)
    reference: str | None = Field(default=None, max_length=100)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    notified_at: datetime | None = _utc(nullable=True)


class ApiClient(SQLModel, table=True):
    """A system allowed to call the machine API; only the SHA-256 of its key is stored."""

    __tablename__ = "api_clients"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    key_prefix: str = Field(max_length=12)
    agencies: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = _utc(nullable=True)


class IdempotencyKey(SQLModel, table=True):
    """A POST's answer kept under the client's `Idempotency-Key`, so a retried request replays it.

    The row is inserted before the request runs (status None: in progress), so a concurrent request
    with the same key cannot run too; it gets the stored answer once there is one, until `expires_at`.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("client_id", "key", name="uq_idempotency_keys_client_key"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="api_clients.id")
    key: str = Field(max_length=255)
    method: str = Field(max_length=10)
    path: str = Field(max_length=500)
    # SHA-256 of method, path, query and the body in normal form: the same key with another request is a 422.
    request_hash: str = Field(max_length=64)
    status: int | None = None
    response_headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # When the running request took the key: one that ran too long was abandoned and may be taken over.
    locked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class CalendarOverride(SQLModel, table=True):
    """A day the government moved: a Saturday worked in a swap (True), or a weekday given off (False).

    Overrides win over the weekday pattern and the `holidays` package; one row per day, and setting a day
    again replaces its row (who set it and when are those of the latest change).
    """

    __tablename__ = "calendar_overrides"

    day: date = Field(primary_key=True)
    is_working_day: bool
    reason: str = Field(max_length=500)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class RateCounter(SQLModel, table=True):
    """Attempts on one key of one kind (db/ratelimit.py): shared by every API replica, updated under a lock.

    The key is stored as a SHA-256 (it is an address, a phone, a user name or a dossier code)."""

    __tablename__ = "rate_counters"
    __table_args__ = (Index("ix_rate_counters_scope_last", "scope", "last_attempt_at"),)

    scope: str = Field(primary_key=True, max_length=30)
    key_hash: str = Field(primary_key=True, max_length=64)
    attempts: int
    last_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The next attempt waits until then (the backoff); the attempt that set it was counted already.
    next_allowed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ZaloToken(SQLModel, table=True):
    """The OA's access/refresh token pair; the refresh token is single use, so one holder refreshes."""

    __tablename__ = "zalo_tokens"

    app_id: str = Field(primary_key=True, max_length=64)
    access_token: str | None = None
    refresh_token: str
    access_expires_at: datetime | None = _utc(nullable=True)
    # SHA-256 of the settings refresh token this pair descends from: a new one in settings replaces it.
    seed_fingerprint: str = Field(max_length=64)
    refresh_count: int = 0
    refreshed_at: datetime | None = _utc(nullable=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ZaloUser(SQLModel, table=True):
    """A Zalo user (id as the OA sees it) who followed the OA or wrote to it."""

    __tablename__ = "zalo_users"

    user_id: str = Field(primary_key=True, max_length=64)
    following: bool | None = None  # None: never seen a follow or unfollow event
    # Event time of the follow/unfollow applied last, so a late or repeated delivery cannot undo a newer one.
    follow_changed_at: datetime | None = _utc(nullable=True)
    last_interaction_at: datetime | None = _utc(nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ZaloLink(SQLModel, table=True):
    """A phone number whose holder proved it (a one-time code sent to it by ZNS, sent back over the OA)
    from this Zalo account: every dossier of the phone, later ones included, is notified over the OA.

    One account per phone: proving the phone again from another account moves the link (and the phone
    is told by ZNS)."""

    __tablename__ = "zalo_links"

    phone: str = Field(primary_key=True, max_length=20)  # 84… as dossiers store it
    user_id: str = Field(foreign_key="zalo_users.user_id", max_length=64, index=True)
    linked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ZaloLinkCode(SQLModel, table=True):
    """A one-time code sent by ZNS to `phone` because Zalo user `user_id` asked to link it.

    Only an HMAC of the code is kept. `attempts` counts the answers checked against it (atomically); the
    code is void after ZALO_LINK_CODE_ATTEMPTS, at `expires_at`, or once used."""

    __tablename__ = "zalo_link_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="zalo_users.user_id", max_length=64, index=True)
    phone: str = Field(max_length=20)
    code_hash: str = Field(max_length=64)
    # The dossier the citizen wrote about (its status is the answer once linked); None: asked by phone.
    dossier_code: str | None = Field(default=None, max_length=40)
    attempts: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = _utc(nullable=True)


class ZaloEvent(SQLModel, table=True):
    """Webhook events already handled: Zalo redelivers, and a reply must go out once."""

    __tablename__ = "zalo_events"

    event_key: str = Field(primary_key=True, max_length=200)
    event_name: str = Field(max_length=60)
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Officer(SQLModel, table=True):
    """An officer who signs in to the desk pages; only an Argon2id hash of the password is stored."""

    __tablename__ = "officers"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=50, unique=True)
    display_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    # Agency codes whose dossiers the officer sees and acts on; ["*"] for every agency.
    agencies: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    role: str = Field(default="officer", max_length=20)  # officer (acts) or viewer (reads only)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_login_at: datetime | None = _utc(nullable=True)


class OfficerSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256 (logout deletes)."""

    __tablename__ = "officer_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    officer_id: int = Field(foreign_key="officers.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Feedback(SQLModel, table=True):
    """Feedback or a complaint (phản ánh, kiến nghị) from a citizen, and the officer's answer
    (domain/feedback.py). About a dossier it belongs to the dossier's agency; without one, to the
    province's queue (`agency_code` NULL: officers of every agency)."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_queue", "agency_code", "status", "answer_due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str | None = Field(default=None, foreign_key="dossiers.code", max_length=40, index=True)
    agency_code: str | None = Field(default=None, max_length=40)
    channel: str = Field(max_length=10)  # "web" (the lookup page) or "oa"
    zalo_user_id: str | None = Field(
        default=None, max_length=64
    )  # who wrote to the OA; the answer goes there
    # Web: the sender gave the code and the phone's last digits. OA: the account proved the dossier's phone.
    sender_verified: bool = False
    text: str
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    answer_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="open", max_length=20)
    answer: str | None = None
    answered_by: str | None = Field(default=None, max_length=100)
    answered_at: datetime | None = _utc(nullable=True)
    # How the answer reached the citizen: "on-page", "sent" or "failed" (and Zalo's reason).
    reply: str | None = Field(default=None, max_length=20)
    reply_error: str | None = Field(default=None, max_length=500)
    reply_message_id: str | None = Field(default=None, max_length=100)


class QueueDay(SQLModel, table=True):
    """An agency's queue on one office day: the last number given and the last one called. Numbers are
    allocated by incrementing `last_number` (a row lock: two takers never get the same number), and a call
    moves `last_called` only from the number the officer saw (a repeated click calls nobody twice)."""

    __tablename__ = "queue_days"

    agency_code: str = Field(primary_key=True, max_length=40)
    day: date = Field(primary_key=True)
    last_number: int = 0
    last_called: int = 0


class QueueTicket(SQLModel, table=True):
    """A queue number (domain/queue.py). Its holder is kept only as an HMAC (the phone, or the Zalo account
    over the OA) and the phone's last 4 digits; the status page is reached by a random link whose SHA-256
    is `link_hash`. The OA notices (turn near, called) are each claimed once before they are sent."""

    __tablename__ = "queue_tickets"
    __table_args__ = (
        UniqueConstraint("agency_code", "day", "number", name="uq_queue_tickets_number"),
        Index("ix_queue_tickets_holder", "holder_hash", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_code: str = Field(max_length=40)
    day: date
    number: int
    status: str = Field(default="waiting", max_length=20)
    channel: str = Field(max_length=10)  # "web" (the public page) or "oa"
    holder_hash: str = Field(max_length=64)
    phone_last4: str | None = Field(default=None, max_length=4)
    zalo_user_id: str | None = Field(default=None, max_length=64)  # where the OA notices go
    link_hash: str = Field(max_length=64, unique=True)
    taken_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    called_at: datetime | None = _utc(nullable=True)
    called_by: str | None = Field(default=None, max_length=100)
    counter: str | None = Field(default=None, max_length=50)
    finished_at: datetime | None = _utc(nullable=True)
    near_notice_at: datetime | None = _utc(nullable=True)
    call_notice_at: datetime | None = _utc(nullable=True)
    notice_error: str | None = Field(default=None, max_length=500)
