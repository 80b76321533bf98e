"""The handler runs for real on Microsoft's documented payloads of every event type it subscribes to."""

from __future__ import annotations

import json

from lifecycle_handler.handler import handle
from lifecycle_handler.outbound import AZURE_DEVOPS_SCOPE

from tests.functions.conftest import WEBHOOK, Boundary, load, settings, shown

TEAMS_ACCEPTED = "teams answered 202 (accepted: the workflow's run history shows whether it posted)"


def test_model_registered_is_audited_with_its_tags_and_nothing_is_sent(boundary: Boundary) -> None:
    outcome = handle(load("model_registered.json"), settings(), boundary.deps)
    assert outcome.status == "handled"
    assert boundary.sender.sent == []
    record = boundary.audit.records[("lifecycle-event", "831e1650-001e-001b-66ab-eeb76e069631")]
    assert record["EventType"] == "Microsoft.MachineLearningServices.ModelRegistered"
    assert record["Subject"] == "models/sklearn_regression_model:20"
    assert (record["ModelName"], record["ModelVersion"]) == (
        "sklearn_regression_model",
        "20",
    )  # a number in the docs
    assert json.loads(record["Tags"]) == {"area": "diabetes", "type": "regression"}
    assert (record["Status"], record["Outcome"]) == ("completed", "audited")


def test_model_deployed_is_audited_per_endpoint_with_every_model_it_serves(boundary: Boundary) -> None:
    outcome = handle(load("model_deployed.json"), settings(), boundary.deps)
    assert outcome.status == "handled"
    assert boundary.sender.sent == []
    (key,) = boundary.audit.records
    record = boundary.audit.records[key]
    assert key == ("lifecycle-event", "831e1650-001e-001b-66ab-eeb76e069631")
    assert record["Endpoint"] == "my-sklearn-service"
    assert json.loads(record["Tags"])["model_ids"] == "sklearn_regression_model:1,sklearn_regression_model:2"


def test_a_failed_run_notifies_the_team_with_fake_webhook_and_queues_nothing(boundary: Boundary) -> None:
    outcome = handle(load("run_status_changed.json"), settings(), boundary.deps)
    assert outcome.status == "handled"
    (notification,) = boundary.sender.sent
    assert (notification.method, notification.url) == ("POST", WEBHOOK)
    assert notification.headers == {"Content-Type": "application/json"}
    text = shown(notification)
    assert "Azure ML run failed" in text
    assert "AutoML_ad912b2d-6467-4f32-a616-dbe4af6dd8fc_5" in text
    assert "is failed" in text
    assert boundary.token.scopes == []  # no Azure DevOps call, so no token either
    record = next(iter(boundary.audit.records.values()))
    assert record["Kind"] == "run-failed"
    assert record["Outcome"] == f"audited; {TEAMS_ACCEPTED}"
    assert record["Notification"] == TEAMS_ACCEPTED


def test_a_monitor_breach_queues_retraining_with_fake_devops_and_notifies(boundary: Boundary) -> None:
    outcome = handle(load("monitor_breach.json"), settings(), boundary.deps)
    assert outcome.status == "handled"
    retrain, notification = boundary.sender.sent
    assert retrain.method == "POST"
    assert (
        retrain.url == "https://dev.azure.com/contoso/ML%20Platform/_apis/pipelines/42/runs?api-version=7.1"
    )
    assert retrain.body == {
        "templateParameters": {
            "triggeringEventId": "5d0f3c2a-7e41-4b9c-8a6d-2f1e0b9c8d7e",
            "modelName": "credit-default",
        },
        "resources": {"repositories": {"self": {"refName": "refs/heads/main"}}},
    }
    scheme, token = retrain.headers["Authorization"].split(" ", 1)
    assert scheme == "Bearer" and token.count(".") >= 1  # an Entra access token, never Basic (PAT)
    assert boundary.token.scopes == [AZURE_DEVOPS_SCOPE]
    assert "credit_monitor_data_drift" in shown(notification)
    assert "Retraining: pipeline 42" in shown(notification)
    assert outcome.run == {"id": 1234, "url": "https://dev.azure.com/contoso/_build/results?buildId=1234"}
    record = boundary.audit.records[("lifecycle-event", "5d0f3c2a-7e41-4b9c-8a6d-2f1e0b9c8d7e")]
    assert record["Outcome"] == f"retraining run 1234 queued; {TEAMS_ACCEPTED}"
    assert (record["RetrainRun"], record["RetrainRunUrl"]) == ("1234", outcome.run["url"])


def test_a_breach_without_a_model_tag_leaves_the_pipeline_default_model(boundary: Boundary) -> None:
    event = load("monitor_breach.json")
    del event["data"]["runTags"]["model_name"]
    handle(event, settings(), boundary.deps)
    retrain = boundary.sender.sent[0]
    assert retrain.body["templateParameters"] == {"triggeringEventId": event["id"]}


def test_without_a_pipeline_or_webhook_a_breach_is_audited_and_logged_only(boundary: Boundary) -> None:
    outcome = handle(load("monitor_breach.json"), settings(devops=None, webhook=""), boundary.deps)
    assert boundary.sender.sent == []
    assert outcome.detail == "audited; no webhook configured, notification logged"
