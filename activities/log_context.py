"""Every log line an activity writes carries its dossier code and workflow id, bound in one place.

A worker interceptor binds them in structlog's context variables for the duration of one activity attempt
(asyncio runs each attempt in its own task, so attempts never see each other's values); `configure_logging`
merges context variables into structlog and stdlib log records alike.
"""

from __future__ import annotations

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from domain.codes import code_of_workflow


class _BindActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        fields: dict[str, Any] = {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "activity": info.activity_type,
            "attempt": info.attempt,
        }
        code = code_of_workflow(info.workflow_id or "")
        if code:
            fields["dossier_code"] = code
        with structlog.contextvars.bound_contextvars(**fields):
            return await self.next.execute_activity(input)


class ActivityLogContext(Interceptor):
    """Pass as `Worker(interceptors=[ActivityLogContext()])`."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivityContext(super().intercept_activity(next))
