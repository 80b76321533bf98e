"""Malformed, unknown, foreign and redelivered events: one clear log line, and no action."""

from __future__ import annotations

import logging

import pytest
from lifecycle_handler.audit import CLAIM_TIMEOUT
from lifecycle_handler.errors import ActionFailed
from lifecycle_handler.handler import handle

from tests.functions.conftest import Boundary, load, settings


@pytest.mark.parametrize("fixture", ["run_completed.json", "dataset_drift_detected.json"])
def test_documented_events_of_unsubscribed_types_are_rejected(
    fixture: str, boundary: Boundary, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        outcome = handle(load(fixture), settings(), boundary.deps)
    assert outcome.status == "rejected"
    assert "is not one of the subscribed types" in outcome.detail
    assert boundary.audit.records == {} and boundary.sender.sent == []
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "831e1650-001e-001b-66ab-eeb76e069631" in caplog.records[0].getMessage()


def _without(event: dict, *path: str) -> dict:
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (["not", "an", "object"], "must be a JSON object"),
        (_without(load("model_registered.json"), "data", "ModelName"), "ModelName"),
        (_without(load("run_status_changed.json"), "data", "runStatus"), "runStatus"),
        (_without(load("model_deployed.json"), "eventTime"), "eventTime"),
        ({**load("model_registered.json"), "id": "bad/id?"}, "id"),
        ({**load("model_registered.json"), "topic": "/subscriptions/x/resourceGroups/y"}, "topic"),
        ({**load("model_registered.json"), "data": {"ModelName": "m", "ModelVersion": ""}}, "ModelVersion"),
    ],
    ids=[
        "not-an-object",
        "no-model-name",
        "no-run-status",
        "no-event-time",
        "unsafe-id",
        "not-a-workspace",
        "empty-version",
    ],
)
def test_malformed_events_are_rejected_naming_the_field(
    event: object, problem: str, boundary: Boundary
) -> None:
    outcome = handle(event, settings(), boundary.deps)
    assert outcome.status == "rejected"
    assert problem in outcome.detail
    assert boundary.audit.records == {} and boundary.sender.sent == []


def test_events_from_another_workspace_are_rejected(boundary: Boundary) -> None:
    event = load("model_registered.json")
    event["topic"] = event["topic"].replace("{workspace-name}", "someone-elses")
    outcome = handle(event, settings(), boundary.deps)
    assert outcome.status == "rejected"
    assert "is not this stack's workspace" in outcome.detail


def test_a_redelivered_breach_queues_retraining_once_with_fake_devops(boundary: Boundary) -> None:
    first = handle(load("monitor_breach.json"), settings(), boundary.deps)
    second = handle(load("monitor_breach.json"), settings(), boundary.deps)
    assert (first.status, second.status) == ("handled", "duplicate")
    assert [r.url.split("/")[2] for r in boundary.sender.sent] == [
        "dev.azure.com",
        "contoso.webhook.office.com",
    ]
    assert len(boundary.audit.records) == 1


def test_the_same_breach_from_both_subscriptions_is_handled_once(boundary: Boundary) -> None:
    # run-failed and monitor-breach both match a breach: Event Grid delivers it twice with one event ID.
    for _ in ("run-failed", "monitor-breach"):
        handle(load("monitor_breach.json"), settings(), boundary.deps)
    assert sum("dev.azure.com" in r.url for r in boundary.sender.sent) == 1


def test_a_failed_action_leaves_the_record_pending_and_the_retry_acts_again(boundary: Boundary) -> None:
    boundary.sender.fail_with = ActionFailed("POST dev.azure.com answered 503: unavailable")
    with pytest.raises(ActionFailed):
        handle(load("monitor_breach.json"), settings(), boundary.deps)
    (record,) = boundary.audit.records.values()
    assert record["Status"] == "pending"
    boundary.sender.fail_with = None
    boundary.clock.advance(CLAIM_TIMEOUT)  # the host retries the message after visibilityTimeout
    retry = handle(load("monitor_breach.json"), settings(), boundary.deps)
    assert retry.status == "handled"
    assert sum("dev.azure.com" in r.url for r in boundary.sender.sent) == 1
    (record,) = boundary.audit.records.values()
    assert record["Status"] == "completed"
