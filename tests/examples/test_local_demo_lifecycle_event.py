"""`make demo`'s lifecycle stage without the rest of the demo: a drifted batch becomes the monitor-breach event
Azure ML publishes, and the real lifecycle handler decides on it in dry-run mode.

Only the cloud boundary is replaced: the audit table by a JSON file, and Azure DevOps and Entra ID by stubs
that refuse to be called (the dry run must need neither).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from local_e2e import lifecycle
from local_e2e.errors import LifecycleDemoError
from local_e2e.lifecycle import BREACH_TAG, BREACH_TEXT, breach_event, react_to_drift, reaction_line
from local_e2e.summary import DemoSummary, summary_table
from rich.console import Console

from infra.components.lifecycle_subscriptions import MONITOR_BREACH_TAG, MONITOR_BREACH_TEXT, SUBSCRIPTIONS

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED_BREACH = REPO / "tests" / "functions" / "fixtures" / "monitor_breach.json"
RUN_ID = "47bbd4117dc04cc980c8ffbed7db98c5"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def _drift(tmp_path: Path, *, drift: bool = True, batch: str = "batch_shifted") -> dict[str, Any]:
    """A drift report line as drift_report.py prints it, with its stats.csv."""
    folder = tmp_path / batch
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stats.csv").write_text(
        "feature,psi,ks_p_value\nbmi,2.0213,0.0001\ns5,0.8841,0.0002\nage,0.01,0.9\n"
    )
    return {
        "batch": batch,
        "drift": drift,
        "drifted_features": ["bmi", "s5"] if drift else [],
        "max_psi": 2.0213 if drift else 0.01,
        "top_feature": "bmi",
        "run_id": RUN_ID if drift else "0" * 32,
        "folder": str(folder),
    }


def _matches(event: dict[str, Any], event_types: tuple[str, ...], filters: tuple) -> bool:
    """Event Grid's matching of one subscription: included types, then every advanced filter.

    Keys are looked up without regard to case (the stack's filter says data.RunTags, payloads say runTags, as
    Microsoft's own documented filter does), and string comparisons ignore case, as Event Grid's do.
    """
    if event["eventType"] not in event_types:
        return False
    for operator, key, values in filters:
        value: Any = event
        for part in key.split("."):
            lowered = {k.lower(): v for k, v in value.items()} if isinstance(value, dict) else {}
            value = lowered.get(part.lower())
        if not isinstance(value, str):
            return False
        if operator == "StringIn" and value.lower() not in {v.lower() for v in values}:
            return False
        if operator == "StringContains" and not any(v.lower() in value.lower() for v in values):
            return False
    return True


def test_a_drifted_batch_becomes_the_event_shape_azure_ml_publishes_for_a_monitor_breach(
    tmp_path: Path,
) -> None:
    (documented,) = json.loads(DOCUMENTED_BREACH.read_text())
    event = breach_event(_drift(tmp_path), model_name="diabetes-progression", psi_threshold=0.25, now=NOW)
    assert set(event) == set(documented)
    assert set(event["data"]) == set(documented["data"])
    assert set(event["data"]["runTags"]) == set(documented["data"]["runTags"])
    assert (event["eventType"], event["data"]["runStatus"]) == (documented["eventType"], "Failed")
    assert (
        event["id"] == event["data"]["runId"] == RUN_ID
    )  # the drift report's MLflow run plays the monitor run
    assert event["eventTime"] == "2026-11-22T09:30:00Z"
    message = event["data"]["runTags"][BREACH_TAG]
    assert message.startswith(f"The signal 'data-drift-batch_shifted' {MONITOR_BREACH_TEXT}.")
    assert (
        '"group":"bmi","metric_value":2.0213,"metric_name":"population_stability_index","threshold_value":0.25'
        in message
    )
    assert '"group":"s5","metric_value":0.8841' in message and '"group":"age"' not in message
    assert event["data"]["runTags"]["model_name"] == "diabetes-progression"
    # The demo's copies of the stack's constants are the stack's.
    assert BREACH_TEXT == MONITOR_BREACH_TEXT
    assert f"data.RunTags.{BREACH_TAG}" == MONITOR_BREACH_TAG


def test_the_event_passes_the_stacks_monitor_breach_subscription(tmp_path: Path) -> None:
    event = breach_event(_drift(tmp_path), model_name="diabetes-progression", psi_threshold=0.25, now=NOW)
    delivered = {key for key, (types, filters) in SUBSCRIPTIONS.items() if _matches(event, types, filters)}
    # A breach is also a failed run: Event Grid delivers it twice, and the handler acts once.
    assert delivered == {"monitor-breach", "run-failed"}
    (documented,) = json.loads(DOCUMENTED_BREACH.read_text())
    assert {
        key for key, (types, filters) in SUBSCRIPTIONS.items() if _matches(documented, types, filters)
    } == delivered


def test_the_real_handler_would_queue_retraining_audits_locally_and_sends_nothing(tmp_path: Path) -> None:
    store = tmp_path / "lifecycle" / "audit.json"
    reactions = react_to_drift(
        [_drift(tmp_path, drift=False, batch="batch"), _drift(tmp_path)],
        model_name="diabetes-progression",
        psi_threshold=0.25,
        store=store,
        now=NOW,
    )
    (reaction,) = reactions  # the batch without drift emits nothing
    assert (reaction.batch, reaction.status) == ("batch_shifted", "dry-run")
    assert (
        reaction.decision == f"monitor signal data-drift-batch_shifted breached its threshold in run {RUN_ID}"
    )
    (request,) = reaction.requests  # no webhook configured locally: the notification is only logged
    assert request["method"] == "POST"
    assert request["url"] == "https://dev.azure.com/contoso/mlops/_apis/pipelines/1/runs?api-version=7.1"
    assert request["body"] == {
        "templateParameters": {"triggeringEventId": RUN_ID, "modelName": "diabetes-progression"},
        "resources": {"repositories": {"self": {"refName": "refs/heads/main"}}},
    }
    assert request["headers"]["Authorization"] == "<managed identity token>"
    (record,) = json.loads(store.read_text()).values()
    assert (record["PartitionKey"], record["RowKey"], record["Kind"], record["ModelName"]) == (
        "lifecycle-event",  # the handler deduplicates by event ID alone: one partition, RowKey = event ID
        RUN_ID,
        "monitor-breach",
        "diabetes-progression",
    )
    assert record["Status"] == "completed"
    assert record["Outcome"] == "dry run: POST https://dev.azure.com/contoso/mlops/_apis/pipelines/1/runs"
    assert "retraining of diabetes-progression would be queued" in reaction_line(reaction.summary())


def test_handling_the_same_report_again_is_a_redelivery_and_queues_nothing(tmp_path: Path) -> None:
    store = tmp_path / "audit.json"
    react_to_drift([_drift(tmp_path)], model_name="diabetes-progression", psi_threshold=0.25, store=store)
    (again,) = react_to_drift(
        [_drift(tmp_path)], model_name="diabetes-progression", psi_threshold=0.25, store=store
    )
    assert (again.status, again.requests) == ("duplicate", [])
    assert len(json.loads(store.read_text())) == 1
    assert "already handled" in reaction_line(again.summary())


def test_outside_dry_run_the_stubs_stop_the_handler_at_the_cloud_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = {**lifecycle.app_settings(tmp_path / "audit.json"), "LIFECYCLE_DRY_RUN": "false"}
    monkeypatch.setattr(lifecycle, "app_settings", lambda store: live)
    with pytest.raises(LifecycleDemoError) as raised:
        react_to_drift(
            [_drift(tmp_path)], model_name="mdl", psi_threshold=0.25, store=tmp_path / "audit.json"
        )
    assert "the dry run asked for a token for 499b84ac-1321-427f-aa17-267ca6975798/.default" in str(
        raised.value
    )


def test_the_summary_says_what_the_breach_would_do(tmp_path: Path) -> None:
    (reaction,) = react_to_drift(
        [_drift(tmp_path)], model_name="diabetes-progression", psi_threshold=0.25, store=tmp_path / "a.json"
    )
    summary = DemoSummary(workdir="/w", drift=[_drift(tmp_path)], lifecycle=[reaction.summary()])
    console = Console(width=200, record=True)
    console.print(summary_table(summary))
    text = console.export_text()
    assert "lifecycle" in text
    assert "batch_shifted: retraining of diabetes-progression would be queued: POST" in text
    assert "(dry run, nothing sent)" in text
    quiet = DemoSummary(workdir="/w", drift=[_drift(tmp_path, drift=False, batch="batch")])
    console = Console(width=200, record=True)
    console.print(summary_table(quiet))
    assert "no batch drifted: no breach event, nothing to queue" in console.export_text()


def test_the_local_audit_store_lets_only_one_of_two_takers_reclaim_a_record(tmp_path: Path) -> None:
    """The file store's ETag behaves like the table's If-Match: a take-over with a stale read loses."""
    store = lifecycle.LocalAuditStore(tmp_path / "audit.json")
    store.path.write_text(
        json.dumps(
            {
                "p|e1": {
                    "PartitionKey": "p",
                    "RowKey": "e1",
                    "Status": "pending",
                    "ClaimedAt": "2026-11-22T09:00:00+00:00",
                }
            }
        )
    )
    first, second = store.read_claim("p", "e1"), store.read_claim("p", "e1")
    assert first.etag == second.etag
    assert store.take_over(first, NOW) is True
    assert store.take_over(second, NOW) is False  # the record changed since `second` was read
    assert store.read_claim("p", "e1").claimed_at == NOW
