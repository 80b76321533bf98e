"""Provenance columns come from the `governance.*` tags a generated project writes, and a breach without a
`model_name` tag still names the model when a generated project's monitor raised it."""

from __future__ import annotations

import pytest
from lifecycle_handler.decisions import GOVERNANCE_TAGS, decide
from lifecycle_handler.events import parse_event
from lifecycle_handler.handler import handle

from tests.functions.conftest import Boundary, load, settings, shown

TEMPLATE_BREACH = "monitor_breach_template_monitor.json"
TEMPLATE_BREACH_ID = "9a7c5e3b-1f2d-4b6a-8c0e-3d5f7a9b1c2e"

# What the template's register and promote write on a retrained, approved version (values are examples).
GOVERNED_VERSION = {
    "governance.git_commit": "3f9c2a1e7b6d5c4f3e2d1c0b9a8f7e6d5c4b3a29",
    "governance.pipeline_run": "https://dev.azure.com/contoso/ml/_build/results?buildId=812",
    "governance.training_job": "c0ffee00-1111-2222-3333-444455556666",
    "governance.data_version": "credit-default-train@9d1e4c7a",
    "governance.approved_by": "ana@contoso.com",
    "governance.approved_at": "2026-11-03T09:30:00+00:00",
    "governance.triggering_event": TEMPLATE_BREACH_ID,
    "governance.reference_data": "azureml://registries/mlops-registry/data/credit-default-training-data/versions/7",
    "gate.rmse": "0.412",
}
COLUMNS = {
    "git_commit": "GitCommit",
    "pipeline_run": "PipelineRun",
    "training_job": "TrainingJob",
    "data_version": "DataVersion",
    "approver": "Approver",
    "approved_at": "ApprovedAt",
    "triggering_event": "TriggeringEvent",
    "reference_data": "ReferenceData",
}


def _registered(tags: dict[str, str]) -> dict:
    event = load("model_registered.json")
    event["data"]["ModelName"] = "credit-default"
    event["subject"] = "models/credit-default:20"  # the subject names the model the data does
    event["data"]["ModelTags"] = tags
    return event


def test_a_registered_versions_governance_tags_fill_every_provenance_column(boundary: Boundary) -> None:
    event = _registered(GOVERNED_VERSION)
    handle(event, settings(), boundary.deps)
    record = boundary.audit.records[("lifecycle-event", event["id"])]
    assert set(COLUMNS) == set(GOVERNANCE_TAGS), "one audit column per governance tag the handler reads"
    assert {column: record[column] for column in COLUMNS.values()} == {
        column: GOVERNED_VERSION[GOVERNANCE_TAGS[field]] for field, column in COLUMNS.items()
    }
    # The retrained version's record carries the ID that keys the breach's own record.
    assert record["TriggeringEvent"] == TEMPLATE_BREACH_ID


def test_unprefixed_tag_names_are_not_provenance(boundary: Boundary) -> None:
    """The names the handler read before (`git_commit`, `approved_by`) are not what the template writes."""
    event = _registered({"git_commit": "abc123", "approved_by": "eve@contoso.com", "pipeline_run_id": "9"})
    handle(event, settings(), boundary.deps)
    record = boundary.audit.records[("lifecycle-event", event["id"])]
    assert (record["GitCommit"], record["Approver"], record["PipelineRun"]) == ("", "", "")


def test_a_failed_retraining_run_is_audited_with_its_commit_and_the_breach_that_queued_it(
    boundary: Boundary,
) -> None:
    event = load("run_status_changed.json")
    # MLflow's commit tag on the run, and the tag the generated CD puts on the Azure ML job it submits.
    event["data"]["runTags"] = {
        "mlflow.source.git.commit": "3f9c2a1e",
        "triggering_event_id": TEMPLATE_BREACH_ID,
    }
    handle(event, settings(), boundary.deps)
    (record,) = boundary.audit.records.values()
    assert record["Kind"] == "run-failed"
    assert (record["GitCommit"], record["TriggeringEvent"]) == ("3f9c2a1e", TEMPLATE_BREACH_ID)


def test_a_governance_tag_wins_over_the_runs_own_tag() -> None:
    event = load("run_status_changed.json")
    event["data"]["runTags"] = {
        "mlflow.source.git.commit": "run-commit",
        "governance.git_commit": "cd-commit",
    }
    assert decide(parse_event(event)).provenance == {"git_commit": "cd-commit"}


def test_a_template_monitors_breach_without_a_model_tag_retrains_the_model_it_is_named_after(
    boundary: Boundary,
) -> None:
    event = load(TEMPLATE_BREACH)
    assert "model_name" not in event["data"]["runTags"]
    outcome = handle(event, settings(), boundary.deps)
    retrain, notification = boundary.sender.sent
    assert retrain.body["templateParameters"] == {
        "triggeringEventId": TEMPLATE_BREACH_ID,
        "modelName": "credit-default",
    }
    assert "credit-default-monitor_feature_drift" in shown(notification)
    assert outcome.decision is not None and outcome.decision.model_name == "credit-default"
    assert ("lifecycle-event", TEMPLATE_BREACH_ID) in boundary.audit.records


def test_the_model_name_tag_wins_over_the_monitors_name() -> None:
    event = load(TEMPLATE_BREACH)
    event["data"]["runTags"]["model_name"] = "credit-default-v2"
    assert decide(parse_event(event)).model_name == "credit-default-v2"


@pytest.mark.parametrize(
    "signal",
    [
        "credit_monitor_data_drift",  # another naming scheme: no `-monitor_`
        "credit-default_feature_drift",  # no monitor suffix
        "-monitor_feature_drift",  # no slug
        "Credit-Default-monitor_feature_drift",  # not a slug (upper case)
        "credit_default-monitor_feature_drift",  # not a slug (underscore)
    ],
)
def test_a_breach_of_another_monitor_without_a_model_tag_names_no_model(signal: str) -> None:
    event = load(TEMPLATE_BREACH)
    message = event["data"]["runTags"]["azureml_modelmonitor_threshold_breached"]
    event["data"]["runTags"]["azureml_modelmonitor_threshold_breached"] = message.replace(
        "credit-default-monitor_feature_drift", signal
    )
    decision = decide(parse_event(event))
    assert signal in decision.reason
    assert decision.model_name == ""
    assert decision.title == "Model monitor threshold breached"


def test_a_slug_containing_monitor_still_ends_at_the_monitor_suffix() -> None:
    event = load(TEMPLATE_BREACH)
    message = event["data"]["runTags"]["azureml_modelmonitor_threshold_breached"]
    event["data"]["runTags"]["azureml_modelmonitor_threshold_breached"] = message.replace(
        "credit-default-monitor_feature_drift", "churn-monitor-risk-monitor_prediction_drift"
    )
    assert decide(parse_event(event)).model_name == "churn-monitor-risk"
