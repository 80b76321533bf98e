"""Dry run: the handler decides and reports the requests it would send, and sends none."""

from __future__ import annotations

from lifecycle_handler.handler import handle

from tests.functions.conftest import Boundary, load, settings, shown


def test_a_dry_run_breach_reports_the_retraining_request_without_calling_devops(boundary: Boundary) -> None:
    outcome = handle(load("monitor_breach.json"), settings(dry_run=True), boundary.deps)
    assert outcome.status == "dry-run"
    assert boundary.sender.sent == []
    assert boundary.token.scopes == []  # not even a token is requested
    retrain, notification = outcome.requests
    assert (
        retrain.url == "https://dev.azure.com/contoso/ML%20Platform/_apis/pipelines/42/runs?api-version=7.1"
    )
    assert retrain.body["templateParameters"]["modelName"] == "credit-default"
    assert "Model monitor threshold breached" in shown(notification)
    (record,) = boundary.audit.records.values()
    assert record["Outcome"].startswith(
        "dry run: POST https://dev.azure.com/contoso/ML%20Platform/_apis/pipelines/42/runs"
    )


def test_a_dry_run_registration_reports_no_action(boundary: Boundary) -> None:
    outcome = handle(load("model_registered.json"), settings(dry_run=True), boundary.deps)
    assert (outcome.status, outcome.requests) == ("dry-run", ())
    assert boundary.sender.sent == []
