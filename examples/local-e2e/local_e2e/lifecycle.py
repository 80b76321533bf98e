"""The local analogue of lifecycle events: a drifted batch becomes the event Azure ML publishes, and the real
handler decides what to do with it, in dry-run mode.

On Azure, a model monitor whose signal breaches its threshold fails its monitoring run and tags it
`azureml_modelmonitor_threshold_breached`; Event Grid delivers that RunStatusChanged event to the handler's
storage queue, one message per event, and the queue-triggered handler in functions/lifecycle_events audits it
and queues the retraining pipeline. Here the drift report plays the monitor: each batch it finds drifted
becomes that same RunStatusChanged event (the envelope and `data` of the Event Grid schema, the breach tag and
its message, a `model_name` tag), and `lifecycle_handler.handle` runs unchanged on the bytes the function
receives for it (the event's UTF-8 JSON), with LIFECYCLE_DRY_RUN=true: it decodes and validates the event,
writes the audit record (to a JSON file standing in for the audit table), decides, and returns the
requests it would send (the Azure DevOps `runs` call that queues retraining) without asking for a token
or sending anything.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local_e2e.errors import LifecycleDemoError

REPO = Path(__file__).resolve().parents[3]
HANDLER_APP = REPO / "functions" / "lifecycle_events"
"""The function app's folder: the Functions host puts it on sys.path, and so does the demo."""

RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
BREACH_TAG = "azureml_modelmonitor_threshold_breached"
BREACH_TEXT = "has failed due to one or more features violating metric thresholds"
"""What the stack's monitor-breach subscription filters on (infra/components/lifecycle_events.py)."""
LOCAL_WORKSPACE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-local-demo/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw-local-demo"
)
"""The topic of local events: a workspace ID in Azure's form, as the handler requires of every event."""
EXAMPLE_PIPELINE = {"organization": "contoso", "project": "mlops", "pipeline_id": "1"}
"""The retraining pipeline the dry run names: an example target (a stack sets its own with
retrainPipelineId, azureDevOpsOrganization and azureDevOpsProject)."""
AUDIT_TABLE = "lifecycleevents"


def _load_handler() -> Any:
    """The handler's package, imported the way the Functions host imports it (its folder on sys.path)."""
    if str(HANDLER_APP) not in sys.path:
        sys.path.insert(0, str(HANDLER_APP))
    from lifecycle_handler import handler

    return handler


def breach_event(
    drift: Mapping[str, Any], *, model_name: str, psi_threshold: float, now: datetime
) -> dict[str, Any]:
    """The RunStatusChanged event Azure ML model monitoring publishes for a breach, from one drifted batch.

    The drift report's MLflow run stands in for the monitoring run: its ID is the run ID and the event ID,
    so handling the same report twice is recognised as a redelivery.
    """
    run_id = str(drift["run_id"])
    violations = [
        json.dumps(
            {
                "group": feature,
                "metric_value": round(psi, 4),
                "metric_name": "population_stability_index",
                "threshold_value": psi_threshold,
            },
            separators=(",", ":"),
        )
        for feature, psi in _feature_psi(drift).items()
    ]
    message = (
        f"The signal 'data-drift-{drift['batch']}' {BREACH_TEXT}.\n"
        "The feature names and their corresponding computed metric values violating the threshold are \n"
        f"{violations}\n"
    )
    return {
        "topic": LOCAL_WORKSPACE_ID,
        "subject": f"experiments/{model_name}/runs/{run_id}",
        "eventType": RUN_STATUS_CHANGED,
        "eventTime": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "id": run_id,
        "dataVersion": "",
        "metadataVersion": "1",
        "data": {
            "experimentId": model_name,
            "experimentName": model_name,
            "runId": run_id,
            "runType": "local.drift_report",
            "runTags": {BREACH_TAG: message, "model_name": model_name},
            "runProperties": {},
            "runStatus": "Failed",
        },
    }


def _feature_psi(drift: Mapping[str, Any]) -> dict[str, float]:
    """PSI of each drifted feature, from the report's stats.csv when it is there (else the batch's maximum)."""
    stats = Path(str(drift.get("folder", ""))) / "stats.csv"
    values: dict[str, float] = {}
    if stats.is_file():
        with stats.open(encoding="utf-8", newline="") as handle:
            values = {row["feature"]: float(row["psi"]) for row in csv.DictReader(handle)}
    return {feature: values.get(feature, float(drift["max_psi"])) for feature in drift["drifted_features"]}


class LocalAuditStore:
    """The audit table as a JSON file: the same create-if-absent, claim, take-over and complete semantics.

    The ETag of a record is a digest of its stored JSON, so a take-over presenting the ETag it read fails
    once anything else has rewritten the record, as an If-Match update does on the Azure Table.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}

    def _write(self, entities: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(entities, indent=2, default=str) + "\n", encoding="utf-8")

    @staticmethod
    def _key(partition_key: str, row_key: str) -> str:
        return f"{partition_key}|{row_key}"

    def create_if_absent(self, record: Any) -> bool:
        entities = self._read()
        key = self._key(record.partition_key, record.row_key)
        if key in entities:
            return False
        entities[key] = record.entity()
        self._write(entities)
        return True

    @staticmethod
    def _etag(entity: Mapping[str, Any]) -> str:
        return hashlib.sha256(json.dumps(entity, sort_keys=True, default=str).encode("utf-8")).hexdigest()

    def read_claim(self, partition_key: str, row_key: str) -> Any:
        _load_handler()
        from lifecycle_handler.audit import StoredClaim

        entity = self._read()[self._key(partition_key, row_key)]
        return StoredClaim.of(entity, self._etag(entity))

    def take_over(self, claim: Any, claimed_at: datetime) -> bool:
        entities = self._read()
        key = self._key(claim.partition_key, claim.row_key)
        if self._etag(entities[key]) != claim.etag:
            return False
        entities[key] |= {"ClaimedAt": claimed_at}
        self._write(entities)
        return True

    def record_action(self, record: Any, values: Mapping[str, str]) -> None:
        entities = self._read()
        entities[self._key(record.partition_key, record.row_key)] |= dict(values)
        self._write(entities)

    def complete(self, record: Any, outcome: str) -> None:
        self.record_action(record, {"Status": "completed", "Outcome": outcome})

    def entities(self) -> list[dict[str, Any]]:
        return list(self._read().values())


def _refuse_to_send(request: Any) -> dict[str, Any]:
    msg = f"the dry run tried to send {request.method} {request.url.split('?')[0]}"
    raise LifecycleDemoError(msg)


def _refuse_token(scope: str) -> str:
    msg = f"the dry run asked for a token for {scope}"
    raise LifecycleDemoError(msg)


@dataclass(frozen=True)
class Reaction:
    """What the handler did with one drifted batch's event."""

    batch: str
    event: dict[str, Any]
    status: str
    """dry-run (decided and audited), duplicate (this report was handled before) or rejected."""
    decision: str
    requests: list[dict[str, Any]]
    """The requests it would send: method, URL, body, headers with the token redacted."""

    def summary(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "event_id": self.event["id"],
            "status": self.status,
            "decision": self.decision,
            "requests": self.requests,
        }


def app_settings(store: Path) -> dict[str, str]:
    """The app settings the stack gives the handler, pointed at the local store and in dry-run mode."""
    return {
        "AUDIT_TABLE_ENDPOINT": store.resolve().as_uri(),
        "AUDIT_TABLE_NAME": AUDIT_TABLE,
        "WORKSPACE_RESOURCE_ID": LOCAL_WORKSPACE_ID,
        "AZURE_DEVOPS_ORGANIZATION": EXAMPLE_PIPELINE["organization"],
        "AZURE_DEVOPS_PROJECT": EXAMPLE_PIPELINE["project"],
        "RETRAIN_PIPELINE_ID": EXAMPLE_PIPELINE["pipeline_id"],
        "LIFECYCLE_DRY_RUN": "true",
    }


def react_to_drift(
    drift: list[dict[str, Any]],
    *,
    model_name: str,
    psi_threshold: float,
    store: Path,
    now: datetime | None = None,
) -> list[Reaction]:
    """Emit a breach event per drifted batch; hand its queue message body to the real handler (dry run)."""
    handler = _load_handler()
    from lifecycle_handler.settings import Settings

    settings = Settings.from_environment(app_settings(store))
    deps = handler.Dependencies(audit=LocalAuditStore(store), send=_refuse_to_send, token=_refuse_token)
    reactions = []
    for item in drift:
        if not item.get("drift"):
            continue
        event = breach_event(
            item, model_name=model_name, psi_threshold=psi_threshold, now=now or datetime.now(UTC)
        )
        # The message body the function hands the handler: the event's JSON, as Event Grid wrote it.
        outcome = handler.handle(json.dumps(event).encode("utf-8"), settings, deps)
        if outcome.status == "rejected":
            msg = f"the handler rejected the demo's event for {item['batch']}: {outcome.detail}"
            raise LifecycleDemoError(msg)
        reactions.append(
            Reaction(
                batch=str(item["batch"]),
                event=event,
                status=outcome.status,
                decision=outcome.decision.reason if outcome.decision else "",
                requests=[_shown(request) for request in outcome.requests],
            )
        )
    return reactions


def _shown(request: Any) -> dict[str, Any]:
    headers = {
        k: ("<managed identity token>" if k == "Authorization" else v) for k, v in request.headers.items()
    }
    return {"method": request.method, "url": request.url, "body": request.body, "headers": headers}


def reaction_line(reaction: Mapping[str, Any]) -> str:
    """One line of the summary: what the event led to."""
    if reaction["status"] == "duplicate":
        return f"{reaction['batch']}: event {reaction['event_id'][:8]} already handled (a redelivery): nothing queued"
    queued = [r for r in reaction["requests"] if "dev.azure.com" in r["url"]]
    if not queued:
        return f"{reaction['batch']}: {reaction['decision']}; nothing would be queued"
    url = queued[0]["url"].split("?")[0]
    model = queued[0]["body"]["templateParameters"].get("modelName", "the pipeline's default model")
    return f"{reaction['batch']}: retraining of {model} would be queued: POST {url} (dry run, nothing sent)"
