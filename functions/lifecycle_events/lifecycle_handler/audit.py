"""The audit store: one record per accepted event, created only if absent, keyed by the event ID.

Event Grid and the queue trigger both deliver at least once, and a monitor breach matches two subscriptions
(run-failed and monitor-breach), so one event (one ID) can arrive as two queue messages at the same moment,
taken by two instances at once. The record is therefore also the handler's idempotency key and its lease:

- The first delivery creates it (create-if-absent), PENDING, with ClaimedAt = when it claimed the event,
  and acts.
- A delivery that finds it COMPLETED is a duplicate and does nothing.
- A delivery that finds it PENDING and claimed less than CLAIM_TIMEOUT ago does not act: an earlier
  attempt may still be running. The handler raises EventInProgress; the host retries the message after
  visibilityTimeout, by when that attempt has completed (the retry is then a duplicate) or been abandoned.
- A PENDING record claimed CLAIM_TIMEOUT ago or earlier belongs to an abandoned attempt (a crash, or a
  failed action whose message came back): the delivery takes it over, re-claiming it with an update
  conditional on the ETag it read (If-Match), and retries the actions. Of two takers only one update
  succeeds; the other raises EventInProgress. A record without ClaimedAt (written before the lease
  existed) counts as abandoned.

CLAIM_TIMEOUT equals host.json's visibilityTimeout (a test checks) and exceeds functionTimeout (5 minutes),
so a claim never expires while its attempt can still be running. Claims compare the instances' clocks
(NTP-synchronised UTC).

The Table entity (AuditRecord.entity): PartitionKey (AUDIT_PARTITION, the same for every record, so the key is
the event ID alone), RowKey (the event ID), the event's who/what/when (EventType, Subject, EventTime, Kind,
Reason, ModelName, ModelVersion, Endpoint, RunId), one column per provenance field (GitCommit, PipelineRun,
TrainingJob, DataVersion, Approver, ApprovedAt, TriggeringEvent, ReferenceData), Tags (JSON), ContentHash (of
the event), Status (pending or completed), Outcome (what the actions did), ClaimedAt (Edm.DateTime, UTC: when the
current attempt claimed the event) and, written as each action completes, RetrainRun and RetrainRunUrl (the
queued Azure DevOps run) and Notification (what the webhook answered). Every string column is bounded and
cleaned (lifecycle_handler.columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lifecycle_handler import columns
from lifecycle_handler.decisions import Decision
from lifecycle_handler.events import LifecycleEvent

AUDIT_PARTITION = "lifecycle-event"
"""Every record's PartitionKey. Deduplication is by event ID alone: a partition derived from the content (the model,
the endpoint) let the same event ID with other content create a second record and act twice. A few events a day
fit one partition many times over (2,000 entities a second per partition: Table storage scalability targets,
https://learn.microsoft.com/azure/storage/tables/scalability-targets); queries filter on columns."""
PENDING = "pending"
COMPLETED = "completed"
CLAIM_COLUMNS = ("Status", "ClaimedAt", "ContentHash", "RetrainRun", "RetrainRunUrl", "Notification")
"""What a delivery reads of an existing record (StoredClaim)."""
CLAIM_TIMEOUT = timedelta(minutes=10)
"""How long a PENDING record's claim holds: host.json's queues.visibilityTimeout, the delay before the
host retries a message whose attempt raised or died."""


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
    content_hash: str
    claimed_at: datetime
    """When this attempt claimed the event (UTC); the lease that keeps concurrent deliveries from acting."""
    status: str = PENDING
    outcome: str = ""

    @classmethod
    def of(cls, event: LifecycleEvent, decision: Decision, *, claimed_at: datetime) -> AuditRecord:
        env = event.envelope
        provenance = {name: columns.text(value) for name, value in decision.provenance.items()}
        return cls(
            # The event ID is checked (events.EVENT_ID): a valid RowKey, and the only dedupe key.
            partition_key=AUDIT_PARTITION,
            row_key=env.id,
            event_type=env.event_type,
            subject=columns.text(env.subject),
            event_time=env.event_time,
            kind=decision.kind.value,
            reason=columns.text(decision.reason, columns.REASON_UNITS),
            model_name=columns.text(decision.model_name),
            model_version=columns.text(decision.model_version),
            endpoint=columns.text(decision.endpoint),
            run_id=columns.text(decision.run_id),
            # One column per provenance field (decisions.GOVERNANCE_TAGS), empty when the tags do not say.
            git_commit=provenance.get("git_commit", ""),
            pipeline_run=provenance.get("pipeline_run", ""),
            training_job=provenance.get("training_job", ""),
            data_version=provenance.get("data_version", ""),
            approver=provenance.get("approver", ""),
            approved_at=provenance.get("approved_at", ""),
            triggering_event=provenance.get("triggering_event", ""),
            reference_data=provenance.get("reference_data", ""),
            tags_json=columns.tags_json(decision.tags),
            content_hash=event.digest,
            claimed_at=claimed_at,
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
            "ContentHash": self.content_hash,
            "Status": self.status,
            "Outcome": self.outcome,
            "ClaimedAt": self.claimed_at,
        }


@dataclass(frozen=True)
class StoredClaim:
    """What a delivery reads of an existing record: its status, its claim and the ETag of that version."""

    partition_key: str
    row_key: str
    status: str
    claimed_at: datetime | None
    etag: str
    content_hash: str = ""
    retrain_run: str = ""
    """The Azure DevOps run an earlier attempt queued for this event ("" when none did)."""
    retrain_run_url: str = ""
    notification: str = ""
    """What the webhook answered an earlier attempt ("" when it was not notified yet)."""

    @classmethod
    def of(cls, entity: Mapping[str, Any], etag: str) -> StoredClaim:
        """From a stored entity; ClaimedAt may be a datetime (Table) or ISO 8601 text (a JSON file)."""
        return cls(
            partition_key=str(entity["PartitionKey"]),
            row_key=str(entity["RowKey"]),
            status=str(entity.get("Status") or PENDING),
            claimed_at=_utc(entity.get("ClaimedAt")),
            etag=etag,
            content_hash=str(entity.get("ContentHash") or ""),
            retrain_run=str(entity.get("RetrainRun") or ""),
            retrain_run_url=str(entity.get("RetrainRunUrl") or ""),
            notification=str(entity.get("Notification") or ""),
        )

    def is_held(self, now: datetime) -> bool:
        """True while an attempt may still be running: PENDING and claimed less than CLAIM_TIMEOUT ago."""
        return (
            self.status != COMPLETED and self.claimed_at is not None and now - self.claimed_at < CLAIM_TIMEOUT
        )


def _utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class AuditStore(Protocol):
    """Where audit records live; the adapter binds Azure Table Storage, tests an in-memory fake."""

    def create_if_absent(self, record: AuditRecord) -> bool:
        """Create the record (and so claim the event); False (and no change) when one with its keys exists."""

    def read_claim(self, partition_key: str, row_key: str) -> StoredClaim:
        """The stored record's status, claim and ETag."""

    def take_over(self, claim: StoredClaim, claimed_at: datetime) -> bool:
        """Re-claim an abandoned record: set ClaimedAt only if the record is still the version `claim` read
        (its ETag); False, and no change, when another writer changed it first."""

    def record_action(self, record: AuditRecord, values: Mapping[str, str]) -> None:
        """Merge what an action did into the record (RetrainRun, Notification...), as soon as it is done."""

    def complete(self, record: AuditRecord, outcome: str) -> None:
        """Mark the record completed, with what the actions did."""


class TableAuditStore:
    """AuditStore on an Azure Table (an azure-data-tables TableClient).

    The store's calls go through the client it is given (a real one on Azurite in the tests, or a fake); the
    Azure SDK is imported where it is used, so the handler's logic loads without it.
    """

    def __init__(self, client: Any) -> None:
        self._table = client

    @classmethod
    def connect(cls, endpoint: str, table: str, credential: Any) -> TableAuditStore:
        """The store on `table` at `endpoint`, authenticated with the function's managed identity."""
        from azure.data.tables import TableClient

        return cls(TableClient(endpoint=endpoint, table_name=table, credential=credential))

    def create_if_absent(self, record: AuditRecord) -> bool:
        from azure.core.exceptions import ResourceExistsError

        try:
            self._table.create_entity(record.entity())
        except ResourceExistsError:  # 409 EntityAlreadyExists
            return False
        return True

    def read_claim(self, partition_key: str, row_key: str) -> StoredClaim:
        entity = self._table.get_entity(
            partition_key, row_key, select=["PartitionKey", "RowKey", *CLAIM_COLUMNS]
        )
        return StoredClaim.of(
            {"PartitionKey": partition_key, "RowKey": row_key, **entity}, entity.metadata["etag"]
        )

    def take_over(self, claim: StoredClaim, claimed_at: datetime) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError, ResourceModifiedError
        from azure.data.tables import UpdateMode

        try:
            self._table.update_entity(
                {"PartitionKey": claim.partition_key, "RowKey": claim.row_key, "ClaimedAt": claimed_at},
                mode=UpdateMode.MERGE,
                etag=claim.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except HttpResponseError as err:
            # 412 UpdateConditionNotSatisfied: the SDK raises ResourceModifiedError; a bare 412 is the same.
            if isinstance(err, ResourceModifiedError) or err.status_code == 412:
                return False
            raise
        return True

    def record_action(self, record: AuditRecord, values: Mapping[str, str]) -> None:
        from azure.data.tables import UpdateMode

        self._table.update_entity(
            {"PartitionKey": record.partition_key, "RowKey": record.row_key, **bounded(values)},
            mode=UpdateMode.MERGE,
        )

    def complete(self, record: AuditRecord, outcome: str) -> None:
        self.record_action(record, {"Status": COMPLETED, "Outcome": outcome})


def bounded(values: Mapping[str, str]) -> dict[str, str]:
    """Action results as columns a Table accepts (they quote what remote endpoints answered)."""
    return {name: columns.text(value, columns.REASON_UNITS) for name, value in values.items()}
