"""A fake Zalo for tests and local runs: the OA message, ZNS template and v4 token endpoints, answering the
way Zalo does (HTTP 200 with an `error` code), plus a control API to inject faults and a page that lists
what it received.

Run it: `python -m zalo.fake_server --port 8300` (what `make run` starts when ZALO_MODE is fake).
Control API: `POST /_fake/faults` (fail the next N calls or for a while, with any Zalo code or HTTP status,
or stall; or act on the message and lose the answer: `lose_answer`), `DELETE /_fake/faults`,
`PUT /_fake/receipts` (delivery receipts on or off), `GET /_fake/messages`, `DELETE /_fake/messages`,
`GET /_fake/calls`, `POST /_fake/tokens/expire` (every access token dies, as after 25 h),
`POST /_fake/users/{id}/text` (a citizen writes to the OA: sent to `--webhook-url`, signed).

One module over 400 lines because it is one stand-in for one service: its endpoints, faults and journal
share one state, and a test or an operator reads the fake whole.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment
from pydantic import BaseModel, Field

from zalo.config import (
    FAKE_APP_ID,
    FAKE_APP_SECRET,
    FAKE_OA_SECRET,
    FAKE_REFRESH_TOKEN,
    OA_MESSAGE_PATH,
    OA_TEXT_MAX,
    TOKEN_PATH,
    TRACKING_ID_MAX,
    ZNS_MESSAGE_PATH,
)
from zalo.webhook import FOLLOW, USER_RECEIVED_MESSAGE, USER_SEND_TEXT, signature_header

log = structlog.get_logger(__name__)

Target = Literal["oa", "zns", "token", "any"]
ICT = ZoneInfo("Asia/Ho_Chi_Minh")
_PHONE = re.compile(r"^84[35789][0-9]{8}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


FAKE_OA_ID = "4318000000000000001"


class FaultSpec(BaseModel):
    """One injected fault: an error code (or HTTP status, or only a stall) for N calls or for a duration."""

    target: Target = "any"
    error: int | None = Field(default=None, description="Zalo error code, answered with HTTP 200")
    http_status: int | None = Field(default=None, ge=400, le=599)
    stall_seconds: float = Field(default=0.0, ge=0, le=600)
    lose_answer: bool = Field(
        default=False,
        description="accept the message (it reaches the citizen), then lose the answer: answer "
        "`http_status` instead, or, without one, answer only after `stall_seconds` (past the client's "
        "timeout). Zalo does not de-duplicate, so a sender that tries again sends it twice.",
    )
    count: int | None = Field(default=None, ge=1, description="the next N calls (default 1)")
    seconds: float | None = Field(default=None, gt=0, description="or every call for this long (an outage)")


@dataclass
class _Fault:
    spec: FaultSpec
    remaining: int | None
    until: datetime | None


_PLACEHOLDER = re.compile(r"<([a-z][a-z0-9_]*)>")


@dataclass(frozen=True)
class RegisteredTemplate:
    """A ZNS template as Zalo holds it once approved: its parameters (with their length limits, None for
    none) and, when known, the title and body the phone shows."""

    params: dict[str, int | None]
    title: str = ""
    body: str = ""

    @classmethod
    def of(cls, spec: Sequence[str] | Mapping[str, Any]) -> RegisteredTemplate:
        if not isinstance(spec, Mapping):
            return cls(dict.fromkeys(spec))
        return cls(dict(spec["params"]), str(spec.get("title", "")), str(spec.get("body", "")))

    def missing(self, data: Mapping[str, Any]) -> list[str]:
        return sorted(set(self.params) - set(data))

    def too_long(self, data: Mapping[str, Any]) -> list[str]:
        return sorted(
            name for name, limit in self.params.items() if limit is not None and len(str(data[name])) > limit
        )

    def shown(self, data: Mapping[str, Any]) -> str | None:
        if not self.body:
            return None

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: str(data.get(m.group(1), m.group(0))), text)

        return f"{fill(self.title)}\n{fill(self.body)}".strip()


class Receipts(BaseModel):
    enabled: bool


class UserText(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class FakeZalo:
    """The fake's memory: accepted messages, every call, tokens, faults. Tests read it directly."""

    def __init__(
        self,
        *,
        app_id: str = FAKE_APP_ID,
        app_secret: str = FAKE_APP_SECRET,
        oa_secret: str = FAKE_OA_SECRET,
        refresh_token: str = FAKE_REFRESH_TOKEN,
        access_token_ttl: timedelta = timedelta(hours=25),
        templates: Mapping[str, Sequence[str] | Mapping[str, Any]] | None = None,
        followers: set[str] | None = None,
        daily_quota: int = 100_000,
        journal_path: Path | None = None,
        webhook_url: str | None = None,
        receipt_delay: float = 1.0,
        receipts: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.oa_secret = oa_secret
        self.refresh_token = refresh_token
        self.access_token_ttl = access_token_ttl
        # Registered templates by id: {"params": {name: max length}, "title": …, "body": …} as Zalo keeps
        # them after approval (domain/zns_templates.as_registered), or just the parameter names.
        self.templates: dict[str, RegisteredTemplate] | None = (
            {str(tid): RegisteredTemplate.of(spec) for tid, spec in templates.items()}
            if templates is not None
            else None
        )
        self.followers = followers
        self.daily_quota = daily_quota
        self.journal_path = journal_path
        self.webhook_url = webhook_url
        self.receipt_delay = receipt_delay
        self.receipts = receipts  # off: no delivery receipt goes to the webhook (a lost webhook)
        self.clock = clock
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.faults: list[_Fault] = []
        self.access_tokens: dict[str, datetime] = {}
        self.used_refresh_tokens: set[str] = set()
        self.token_grants = 0
        self.webhook_http: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        if journal_path is not None:
            self._load_journal(journal_path)

    # --- journal (so `make run` keeps what it showed across restarts) ---

    def _load_journal(self, path: Path) -> None:
        if not path.exists():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("type") == "message":
                self.messages.append(record["message"])
            elif record.get("type") == "token":
                self.used_refresh_tokens.add(self.refresh_token)
                self.refresh_token = record["refresh_token"]
                self.access_tokens[record["access_token"]] = datetime.fromisoformat(record["expires_at"])

    def _journal(self, record: dict[str, Any]) -> None:
        if self.journal_path is None:
            return
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        with self.journal_path.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(record, ensure_ascii=False) + "\n")

    def clear_messages(self) -> None:
        self.messages.clear()
        self.calls.clear()
        if self.journal_path is not None and self.journal_path.exists():
            # Keep the token state: the worker's stored refresh token must stay valid here.
            kept = [
                line
                for line in self.journal_path.read_text(encoding="utf-8").splitlines()
                if '"type": "token"' in line
            ]
            self.journal_path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")

    # --- faults ---

    def add_fault(self, spec: FaultSpec) -> None:
        until = self.clock() + timedelta(seconds=spec.seconds) if spec.seconds is not None else None
        remaining = spec.count if spec.count is not None else (None if until is not None else 1)
        self.faults.append(_Fault(spec=spec, remaining=remaining, until=until))

    def take_fault(self, target: Target) -> FaultSpec | None:
        now = self.clock()
        self.faults = [
            f
            for f in self.faults
            if (f.remaining is None or f.remaining > 0) and (f.until is None or f.until > now)
        ]
        for fault in self.faults:
            if fault.spec.target in (target, "any"):
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault.spec
        return None

    # --- tokens ---

    def token_error(self, token: str | None, *, zns: bool) -> tuple[int, str] | None:
        expires_at = self.access_tokens.get(token or "")
        if expires_at is None:
            return (-124, "Access token is invalid") if zns else (-216, "Access token is invalid")
        if expires_at <= self.clock():
            return (-124, "Access token has expired") if zns else (-220, "Access token has expired")
        return None

    def expire_access_tokens(self) -> None:
        now = self.clock()
        self.access_tokens = {token: min(exp, now) for token, exp in self.access_tokens.items()}

    def grant(self) -> dict[str, Any]:
        self.used_refresh_tokens.add(self.refresh_token)
        access, refresh = "fake-at-" + secrets.token_hex(16), "fake-rt-" + secrets.token_hex(16)
        expires_at = self.clock() + self.access_token_ttl
        self.refresh_token = refresh
        self.access_tokens[access] = expires_at
        self.token_grants += 1
        self._journal(
            {
                "type": "token",
                "access_token": access,
                "refresh_token": refresh,
                "expires_at": expires_at.isoformat(),
            }
        )
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": str(int(self.access_token_ttl.total_seconds())),
        }

    # --- messages ---

    def accept(self, message: dict[str, Any]) -> dict[str, Any]:
        message["id"] = len(self.messages) + 1
        message["received_at"] = self.clock().isoformat()
        self.messages.append(message)
        self._journal({"type": "message", "message": message})
        if self.webhook_url and self.receipts:
            self._spawn(self._send_receipt(message))
        return message

    def sent_today(self) -> int:
        today = self.clock().astimezone(ICT).date()
        return sum(
            1
            for m in self.messages
            if m["channel"] == "zns"
            and datetime.fromisoformat(m["received_at"]).astimezone(ICT).date() == today
        )

    # --- webhooks out (delivery receipts, a citizen's text) ---

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post_event(self, event: dict[str, Any]) -> int | None:
        """Send one signed webhook event to `webhook_url`; the answer's status, None when unreachable."""
        if not self.webhook_url:
            return None
        body = json.dumps(event, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "X-ZEvent-Signature": signature_header(self.app_id, body, self.oa_secret),
        }
        client = self.webhook_http or httpx.AsyncClient(timeout=10)
        try:
            response = await client.post(self.webhook_url, content=body, headers=headers)
            return response.status_code
        except httpx.HTTPError as exc:
            log.warning("fake_zalo.webhook_failed", error=type(exc).__name__)
            return None
        finally:
            if client is not self.webhook_http:
                await client.aclose()

    def event(self, name: str, **fields: Any) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "oa_id": FAKE_OA_ID,
            "event_name": name,
            "timestamp": str(int(self.clock().timestamp() * 1000)),
            **fields,
        }

    async def _send_receipt(self, message: dict[str, Any]) -> None:
        await asyncio.sleep(self.receipt_delay)
        now_ms = str(int(self.clock().timestamp() * 1000))
        if message["channel"] == "zns":
            content: dict[str, Any] = {
                "msg_id": message["message_id"],
                "tracking_id": message["tracking_id"],
                "delivery_time": now_ms,
            }
            recipient = "zns-" + message["phone"][-4:]
        else:
            content = {"msg_ids": [message["message_id"]]}
            recipient = message["user_id"]
        await self.post_event(
            self.event(
                USER_RECEIVED_MESSAGE, sender={"id": FAKE_OA_ID}, recipient={"id": recipient}, message=content
            )
        )


def _answer(error: int, message: str, data: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "message": message}
    if data is not None:
        body["data"] = data
    return JSONResponse(body)


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


_PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10">
<title>Zalo giả lập — tin đã nhận</title>
<style>
body{font-family:system-ui,sans-serif;margin:1rem;max-width:60rem;color:#1a1a1a}
article{border:1px solid #ccd;border-radius:8px;padding:.6rem .8rem;margin:.6rem 0}
.meta{color:#555;font-size:.85rem} pre{white-space:pre-wrap;font-family:inherit;margin:.4rem 0}
.oa{border-left:4px solid #0068ff}.zns{border-left:4px solid #00a86b} table{border-collapse:collapse}
td{padding:.1rem .6rem .1rem 0;vertical-align:top}
</style></head><body>
<h1>Zalo giả lập</h1>
<p class="meta">{{ messages|length }} tin đã nhận (mới nhất ở trên) · {{ calls }} lượt gọi API ·
{{ grants }} lần cấp access token · {{ faults }} lỗi giả lập đang chờ</p>
{% for m in messages %}
<article class="{{ m.channel }}">
<div class="meta">#{{ m.id }} · {{ m.shown_at }} ·
{% if m.channel == "oa" %}Tin tư vấn OA → người dùng {{ m.user_id }}{% else %}ZNS → {{ m.phone }}
· mẫu {{ m.template_id }} · tracking {{ m.tracking_id }}{% endif %} · mã tin {{ m.message_id }}</div>
{% if m.text %}<pre>{{ m.text }}</pre>{% endif %}{% if m.channel == "zns" %}
<table>{% for k, v in m.template_data.items() %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
{% endif %}
</article>
{% else %}<p>Chưa có tin nào.</p>{% endfor %}
</body></html>"""
)


def create_fake_zalo_app(fake: FakeZalo | None = None, **options: Any) -> FastAPI:
    """The fake Zalo as an ASGI app; `app.state.fake` is its FakeZalo (pass one, or its options)."""
    state = fake or FakeZalo(**options)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10) as http:
            state.webhook_http = http
            yield
            state.webhook_http = None

    app = FastAPI(
        title="Fake Zalo", lifespan=lifespan, docs_url="/_fake/docs", openapi_url="/_fake/openapi.json"
    )
    app.state.fake = state

    async def fault_answer(target: Target, spec: FaultSpec | None = None) -> Response | None:
        spec = spec or state.take_fault(target)
        if spec is None or spec.lose_answer:
            return None
        if spec.stall_seconds:
            await asyncio.sleep(spec.stall_seconds)
        if spec.http_status is not None:
            return JSONResponse({"error": "fake outage"}, status_code=spec.http_status)
        if spec.error is not None:
            return _answer(spec.error, "Injected by the fake Zalo")
        return None

    def record_call(path: str, error: int | str) -> None:
        state.calls.append({"path": path, "error": error, "at": state.clock().isoformat()})

    async def lost(spec: FaultSpec | None, answer: Response) -> Response:
        """The answer to an accepted message, or, under a `lose_answer` fault, not that answer."""
        if spec is None or not spec.lose_answer:
            return answer
        if spec.http_status is not None:
            await asyncio.sleep(spec.stall_seconds)
            return JSONResponse({"error": "fake lost answer"}, status_code=spec.http_status)
        await asyncio.sleep(spec.stall_seconds or 60.0)
        return answer

    async def refuse_first(target: Target, request: Request, spec: FaultSpec | None) -> Response | None:
        """An injected fault, or Zalo's answer to a missing or bad access token, before the body is read."""
        faulty = await fault_answer(target, spec)
        if faulty is not None:
            record_call(target, "fault")
            return faulty
        refused = state.token_error(request.headers.get("access_token"), zns=target == "zns")
        if refused:
            record_call(target, refused[0])
            return _answer(*refused)
        return None

    @app.post(OA_MESSAGE_PATH)
    async def oa_message(request: Request) -> Response:
        """OA consultation message (tin tư vấn)."""
        spec = state.take_fault("oa")
        turned_away = await refuse_first("oa", request, spec)
        if turned_away is not None:
            return turned_away
        body = await _json_body(request) or {}
        recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else {}
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        assert isinstance(recipient, dict)
        assert isinstance(message, dict)
        user_id, text = recipient.get("user_id"), message.get("text")
        problem: tuple[int, str] | None = None
        if not isinstance(user_id, str) or not user_id:
            problem = (-201, "recipient.user_id is invalid")
        elif not isinstance(text, str) or not text.strip():
            problem = (-201, "message.text is empty")
        elif len(text) > OA_TEXT_MAX:
            problem = (-201, f"message.text is longer than {OA_TEXT_MAX} characters")
        elif state.followers is not None and user_id not in state.followers:
            problem = (-213, "User has not followed the OA")
        if problem:
            record_call("oa", problem[0])
            return _answer(*problem)
        accepted = state.accept(
            {"channel": "oa", "user_id": user_id, "text": text, "message_id": secrets.token_hex(16)}
        )
        record_call("oa", 0)
        return await lost(
            spec, _answer(0, "Success", {"message_id": accepted["message_id"], "user_id": user_id})
        )

    @app.post(ZNS_MESSAGE_PATH)
    async def zns_message(request: Request) -> Response:
        """ZNS template message by phone number."""
        spec = state.take_fault("zns")
        turned_away = await refuse_first("zns", request, spec)
        if turned_away is not None:
            return turned_away
        body = await _json_body(request) or {}
        phone, template_id = body.get("phone"), body.get("template_id")
        data, tracking_id = body.get("template_data"), body.get("tracking_id")
        problem: tuple[int, str] | None = None
        if not isinstance(phone, str) or not _PHONE.match(phone):
            problem = (-108, "Phone number invalid")
        elif not isinstance(template_id, str | int) or (
            state.templates is not None and str(template_id) not in state.templates
        ):
            problem = (-109, "Template ID invalid")
        elif not isinstance(data, dict) or not data:
            problem = (-111, "Template data empty")
        elif not all(isinstance(v, str | int | float) for v in data.values()):
            problem = (-112, "Template data invalid")
        elif state.templates is not None and (missing := state.templates[str(template_id)].missing(data)):
            problem = (-112, "Template data invalid: missing " + ", ".join(missing))
        elif state.templates is not None and (too_long := state.templates[str(template_id)].too_long(data)):
            problem = (-112, "Template data invalid: too long " + ", ".join(too_long))
        elif tracking_id is not None and (
            not isinstance(tracking_id, str) or len(tracking_id) > TRACKING_ID_MAX
        ):
            problem = (-201, f"tracking_id must be a string of at most {TRACKING_ID_MAX} characters")
        elif state.sent_today() >= state.daily_quota:
            problem = (-144, "OA has exceeded the daily ZNS quota")
        if problem:
            record_call("zns", problem[0])
            return _answer(*problem)
        assert isinstance(data, dict)
        accepted = state.accept(
            {
                "channel": "zns",
                "phone": phone,
                "template_id": str(template_id),
                "template_data": {str(k): str(v) for k, v in data.items()},
                # What the phone shows: the registered title and body with the parameters filled in.
                "text": state.templates[str(template_id)].shown(data)
                if state.templates is not None
                else None,
                "tracking_id": tracking_id,
                "message_id": secrets.token_hex(16),
            }
        )
        record_call("zns", 0)
        sent_ms = str(int(state.clock().timestamp() * 1000))
        quota = {
            "dailyQuota": str(state.daily_quota),
            "remainingQuota": str(state.daily_quota - state.sent_today()),
        }
        return await lost(
            spec,
            _answer(
                0,
                "Success",
                {"msg_id": accepted["message_id"], "sent_time": sent_ms, "sending_mode": "1", "quota": quota},
            ),
        )

    @app.post(TOKEN_PATH)
    async def access_token(request: Request) -> Response:
        """v4 OA access token from a refresh token (which dies once used)."""
        faulty = await fault_answer("token")
        if faulty is not None:
            record_call("token", "fault")
            return faulty
        form = await request.form()
        refresh_token, app_id, grant_type = (
            form.get("refresh_token"),
            form.get("app_id"),
            form.get("grant_type"),
        )
        error: tuple[int, str] | None = None
        if request.headers.get("secret_key") != state.app_secret:
            error = (-14002, "Invalid secret key")
        elif app_id != state.app_id:
            error = (-14001, "Invalid app_id")
        elif grant_type != "refresh_token":
            error = (-14003, "Invalid grant_type")
        elif refresh_token in state.used_refresh_tokens:
            error = (-14014, "Refresh token has already been used")
        elif refresh_token != state.refresh_token:
            error = (-14014, "Invalid refresh token")
        if error:
            record_call("token", error[0])
            return JSONResponse(
                {"error": error[0], "error_name": "Invalid parameter", "error_description": error[1]}
            )
        record_call("token", 0)
        return JSONResponse(state.grant())

    @app.post("/_fake/faults", status_code=201)
    async def add_fault(spec: FaultSpec) -> dict[str, Any]:
        """Inject a fault."""
        state.add_fault(spec)
        return {"faults": len(state.faults)}

    @app.get("/_fake/faults")
    async def list_faults() -> list[dict[str, Any]]:
        return [
            {
                **f.spec.model_dump(),
                "remaining": f.remaining,
                "until": f.until.isoformat() if f.until else None,
            }
            for f in state.faults
        ]

    @app.delete("/_fake/faults", status_code=204)
    async def clear_faults() -> None:
        state.faults.clear()

    @app.put("/_fake/receipts")
    async def set_receipts(body: Receipts) -> dict[str, Any]:
        """Delivery receipts on or off (off: as if every receipt webhook were lost)."""
        state.receipts = body.enabled
        return {"enabled": state.receipts}

    @app.get("/_fake/messages")
    async def list_messages() -> list[dict[str, Any]]:
        """Accepted messages, newest first."""
        return list(reversed(state.messages))

    @app.delete("/_fake/messages", status_code=204)
    async def clear_messages() -> None:
        state.clear_messages()

    @app.get("/_fake/calls")
    async def list_calls() -> dict[str, Any]:
        return {"token_grants": state.token_grants, "calls": state.calls}

    @app.post("/_fake/tokens/expire", status_code=204)
    async def expire_tokens() -> None:
        """Every access token issued so far stops working (as after its 25 hours)."""
        state.expire_access_tokens()

    @app.post("/_fake/users/{user_id}/follow")
    async def user_follows(user_id: str) -> dict[str, Any]:
        """A citizen follows the OA: a signed `follow` event goes to the webhook URL."""
        if state.followers is not None:
            state.followers.add(user_id)
        status = await state.post_event(state.event(FOLLOW, follower={"id": user_id}, source="oa_profile"))
        return {"webhook_status": status}

    @app.post("/_fake/users/{user_id}/text")
    async def user_sends_text(user_id: str, body: UserText) -> dict[str, Any]:
        """A citizen writes to the OA: a signed `user_send_text` event goes to the webhook URL."""
        event = state.event(
            USER_SEND_TEXT,
            sender={"id": user_id},
            recipient={"id": FAKE_OA_ID},
            message={"msg_id": secrets.token_hex(16), "text": body.text},
        )
        return {"webhook_status": await state.post_event(event)}

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        """What the fake received, newest first."""
        shown = [
            {
                **m,
                "shown_at": datetime.fromisoformat(m["received_at"])
                .astimezone(ICT)
                .strftime("%d/%m/%Y %H:%M:%S"),
            }
            for m in reversed(state.messages)
        ]
        html = _PAGE.render(
            messages=shown, calls=len(state.calls), grants=state.token_grants, faults=len(state.faults)
        )
        return HTMLResponse(html)

    return app


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    from settings import get_settings
    from zalo.config import zalo_config

    settings = get_settings()
    config = zalo_config(settings)
    parser = argparse.ArgumentParser(description="Fake Zalo (OA, ZNS, OAuth) for local runs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--journal", default=settings.fake_zalo_journal, help="JSON-lines file ('' for none)")
    parser.add_argument("--webhook-url", default=None, help="where to send signed events (delivery receipts)")
    parser.add_argument("--no-receipts", action="store_true", help="send no delivery receipts")
    parser.add_argument(
        "--templates",
        default=None,
        help='JSON file: {template id: {"params": {name: max length}, "body": …}}',
    )
    args = parser.parse_args(argv)
    templates = json.loads(Path(args.templates).read_text(encoding="utf-8")) if args.templates else None
    fake = FakeZalo(
        app_id=config.app_id,
        app_secret=config.app_secret,
        oa_secret=config.oa_secret,
        refresh_token=config.refresh_token,
        templates=templates,
        journal_path=Path(args.journal) if args.journal else None,
        webhook_url=args.webhook_url,
        receipts=not args.no_receipts,
    )
    uvicorn.run(create_fake_zalo_app(fake), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
