"""Progress of a long task as a Prefect progress artifact."""

from __future__ import annotations

from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import FlowRunContext, TaskRunContext


class Progress:
    """A progress artifact inside a Prefect run; nothing when a task body is called directly."""

    def __init__(self, key: str, total: int, description: str) -> None:
        self.total, self.done = max(total, 1), 0
        self._id: UUID | None = None
        if TaskRunContext.get() is not None or FlowRunContext.get() is not None:
            created = create_progress_artifact(0.0, key=key, description=description)
            self._id = created if isinstance(created, UUID) else None

    def advance(self, n: int) -> None:
        self.done += n
        if self._id is not None:
            update_progress_artifact(self._id, 100.0 * self.done / self.total)
