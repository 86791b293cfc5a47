"""Under Temporal with time skipping: a night refusal by Zalo makes the server retry the send at 06:00."""

from __future__ import annotations

import shutil
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.engine import SessionFactory
from domain.notices import NoticeKind
from tests.support.zalo import CODE, ICT, Clock, add_dossier, add_notice, notices, zalo_harness
from workflows.contracts import NoticeBatch, NoticeOutcome
from zalo.fake_server import FaultSpec

TEMPORAL = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
EVENING = datetime(2026, 11, 23, 21, 40, tzinfo=ICT)


class AttemptClock(Clock):
    """Office time as Temporal schedules attempts: the first at 21:40, later ones as much later as the
    (virtual, time-skipped) server scheduled them."""

    def __call__(self) -> datetime:
        if activity.in_activity():
            info = activity.info()
            return self.now + (info.current_attempt_scheduled_time - info.scheduled_time)
        return self.now


@workflow.defn(sandboxed=False)
class SendOnce:
    """The smallest caller of `notices.send`: what the lead's workflow does after its own quiet-hours wait."""

    @workflow.run
    async def run(self, batch: NoticeBatch) -> list[NoticeOutcome]:
        return await workflow.execute_activity(
            "notices.send",
            batch,
            result_type=list[NoticeOutcome],
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5),
        )


async def test_zalo_night_refusal_is_retried_at_six_by_the_server(session_factory: SessionFactory) -> None:
    clock = AttemptClock(EVENING)
    async with zalo_harness(session_factory, now=EVENING) as h:
        h.activities.clock = clock
        await add_dossier(session_factory)
        await add_notice(session_factory, NoticeKind.RECEIVED)
        h.fake.add_fault(FaultSpec(target="zns", error=-133))  # Zalo: "no ZNS at night"

        async with (
            await WorkflowEnvironment.start_time_skipping_v2(
                dev_server_existing_path=TEMPORAL,
                dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
            ) as env,
            Worker(
                env.client,
                task_queue=(queue := f"notices-{uuid.uuid4()}"),
                workflows=[SendOnce],
                activities=h.activities.activity_functions(),
            ),
        ):
            handle = await env.client.start_workflow(
                SendOnce.run,
                NoticeBatch(CODE, 1, NoticeKind.RECEIVED.value, workflow_time=EVENING),
                id=f"send-{uuid.uuid4()}",
                task_queue=queue,
            )
            [outcome] = await handle.result()

            history = [e async for e in handle.fetch_history_events()]

    assert outcome.status == "sent"
    [row] = await notices(session_factory)
    assert (row.status, row.attempts) == ("sent", 2)
    assert [c["error"] for c in h.fake.calls if c["path"] == "zns"] == ["fault", 0]
    [message] = h.fake.messages
    assert message["template_id"]
    # The second attempt was scheduled by the server at 06:00 office time, 8 h 20 min later.
    started = [e for e in history if e.HasField("activity_task_started_event_attributes")]
    assert started[-1].activity_task_started_event_attributes.attempt == 2
    retried_at = EVENING + (started[-1].event_time.ToDatetime() - history[0].event_time.ToDatetime())
    assert retried_at >= datetime(2026, 11, 24, 6, 0, tzinfo=ICT)
    assert retried_at < datetime(2026, 11, 24, 6, 1, tzinfo=ICT)
