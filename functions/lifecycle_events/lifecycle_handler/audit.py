"""The audit store: one record per accepted event, created only if absent, keyed by the event ID.

Event Grid and the queue trigger both deliver at least once, so the record's conditional create is also the
handler's idempotency key: a redelivered event finds its record and, once its actions completed, is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lifecycle_handler.decisions import Decision
from lifecycle_handler.events import LifecycleEvent

PENDING = "pending"
COMPLETED = "completed"


@dataclass(frozen=True)
class AuditRecord:
    """Who/what/when of one event, as one Azure Table entity (PartitionKey, RowKey = event ID)."""

    partition_key: str
    row_key: str
    event_type: str
    subject: str
    event_time: datetime
    kind: str
    reason: str
    model_name: str
    model_version: str
    endpoint: str
    run_id: str
    git_commit: str
    pipeline_run: str
    training_job: str
    data_version: str
    approver: str
    approved_at: str
    triggering_event: str
    reference_data: str
    tags_json: str
    status: str = PENDING
    outcome: str = ""

    @classmethod
    def of(cls, event: LifecycleEvent, decision: Decision) -> AuditRecord:
        env = event.envelope
        return cls(
            # Table keys forbid / \ # ?: the subject-derived partition is sanitised, the event ID is checked.
            partition_key=_key(decision.partition),
            row_key=env.id,
            event_type=env.event_type,
            subject=env.subject,
            event_time=env.event_time,
            kind=decision.kind.value,
            reason=decision.reason,
            model_name=decision.model_name,
            model_version=decision.model_version,
            endpoint=decision.endpoint,
            run_id=decision.run_id,
            # One column per provenance field (decisions.GOVERNANCE_TAGS), empty when the tags do not say.
            git_commit=decision.provenance.get("git_commit", ""),
            pipeline_run=decision.provenance.get("pipeline_run", ""),
            training_job=decision.provenance.get("training_job", ""),
            data_version=decision.provenance.get("data_version", ""),
            approver=decision.provenance.get("approver", ""),
            approved_at=decision.provenance.get("approved_at", ""),
            triggering_event=decision.provenance.get("triggering_event", ""),
            reference_data=decision.provenance.get("reference_data", ""),
            tags_json=json.dumps(decision.tags, sort_keys=True)[:30000],
        )

    def entity(self) -> dict[str, Any]:
        """The record as a Table entity (PascalCase keys, as Table Storage tooling expects)."""
        return {
            "PartitionKey": self.partition_key,
            "RowKey": self.row_key,
            "EventType": self.event_type,
            "Subject": self.subject,
            "EventTime": self.event_time,
            "Kind": self.kind,
            "Reason": self.reason,
            "ModelName": self.model_name,
            "ModelVersion": self.model_version,
            "Endpoint": self.endpoint,
            "RunId": self.run_id,
            "GitCommit": self.git_commit,
            "PipelineRun": self.pipeline_run,
            "TrainingJob": self.training_job,
            "DataVersion": self.data_version,
            "Approver": self.approver,
            "ApprovedAt": self.approved_at,
            "TriggeringEvent": self.triggering_event,
            "ReferenceData": self.reference_data,
            "Tags": self.tags_json,
            "Status": self.status,
            "Outcome": self.outcome,
        }


def _key(value: str) -> str:
    return "".join("_" if c in "/\\#?" or ord(c) < 32 else c for c in value)[:512]


class AuditStore(Protocol):
    """Where audit records live; the adapter binds Azure Table Storage, tests an in-memory fake."""

    def create_if_absent(self, record: AuditRecord) -> bool:
        """Create the record; False (and no change) when one with the same keys already exists."""

    def status_of(self, partition_key: str, row_key: str) -> str:
        """The stored record's status."""

    def complete(self, record: AuditRecord, outcome: str) -> None:
        """Mark the record completed, with what the actions did."""


class TableAuditStore:
    """AuditStore on an Azure Table, authenticated with the function's managed identity."""

    def __init__(self, endpoint: str, table: str, credential: Any) -> None:
        from azure.data.tables import TableClient  # the Azure SDK only where the adapter runs

        self._table = TableClient(endpoint=endpoint, table_name=table, credential=credential)

    def create_if_absent(self, record: AuditRecord) -> bool:
        from azure.core.exceptions import ResourceExistsError

        try:
            self._table.create_entity(record.entity())
        except ResourceExistsError:
            return False
        return True

    def status_of(self, partition_key: str, row_key: str) -> str:
        return str(self._table.get_entity(partition_key, row_key).get("Status", PENDING))

    def complete(self, record: AuditRecord, outcome: str) -> None:
        from azure.data.tables import UpdateMode

        self._table.update_entity(
            {
                "PartitionKey": record.partition_key,
                "RowKey": record.row_key,
                "Status": COMPLETED,
                "Outcome": outcome,
            },
            mode=UpdateMode.MERGE,
        )
