"""NoticeResendWorkflow: one failed notice sent again, after an officer fixed its cause.

The web process has no Zalo client; the worker does. The desk starts this workflow (through
workflows/gateway.py, id `notice-resend-<notice key>`); it puts the row back in the queue
(`notices.requeue`) and sends it through the very activity the dossier workflow uses (`notices.send`, the
batch narrowed to that row), so claims, retries, the quiet-hours guard and the ZNS tracking id are the
same. When the send's retry budget is spent the row is failed-permanent again, and may be resent again.

This module imports only the contracts (workflows/contracts.py): no activity's implementation enters the
workflow sandbox.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    # `import a.b as c`: only a dotted import passes the workflow's own package through the sandbox.
    import workflows.contracts as contracts


@workflow.defn(name=contracts.RESEND_WORKFLOW)
class NoticeResendWorkflow:
    @workflow.run
    async def run(self, request: contracts.ResendRequest) -> contracts.ResendResult:
        requeued = await workflow.execute_activity(
            contracts.notice_requeue,
            request,
            start_to_close_timeout=contracts.DB_STEP_TIMEOUT,
            retry_policy=contracts.DB_STEP_RETRY,
            summary=f"requeue {request.key}",
        )
        if not requeued.requeued:
            return contracts.ResendResult(request.key, False, requeued.status, requeued.error)
        batch = contracts.NoticeBatch(
            requeued.dossier_code, requeued.seq, requeued.kind, workflow.now(), keys=requeued.keys
        )
        try:
            outcomes = await workflow.execute_activity(
                contracts.notice_send,
                batch,
                start_to_close_timeout=contracts.NOTICE_SEND_TIMEOUT,
                heartbeat_timeout=contracts.NOTICE_SEND_HEARTBEAT,
                schedule_to_close_timeout=contracts.NOTICE_GIVE_UP_AFTER,
                retry_policy=contracts.NOTICE_SEND_RETRY,
                summary=f"send {request.key} again",
            )
        except ActivityError as err:
            reason = str(err.cause or err)
            await workflow.execute_activity(
                contracts.notice_mark_failed,
                args=[batch, reason],
                start_to_close_timeout=contracts.DB_STEP_TIMEOUT,
                retry_policy=contracts.DB_STEP_RETRY,
                summary=f"give up {request.key}",
            )
            return contracts.ResendResult(request.key, True, contracts.GAVE_UP, reason)
        mine = next((o for o in outcomes if o.key == request.key), None)
        if mine is None:  # the row went away meanwhile (a dossier deleted by hand): nothing was sent
            return contracts.ResendResult(request.key, True, "", None, outcomes)
        return contracts.ResendResult(request.key, True, mine.status, mine.error, outcomes)
