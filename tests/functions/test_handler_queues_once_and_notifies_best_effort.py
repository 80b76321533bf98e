"""One breach, one retraining run, one notification, however often the message is retried; Teams gets an Adaptive
Card, Slack text, and neither gets a link or a mention from an event. Azure DevOps and the webhooks are faked (the
cloud boundary); the fakes answer as the services do (the Runs API's run, a Teams workflow's 202, Slack's `ok`)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from lifecycle_handler.audit import CLAIM_TIMEOUT
from lifecycle_handler.errors import ActionFailed
from lifecycle_handler.events import MONITOR_BREACH_TAG, MONITOR_BREACH_TEXT
from lifecycle_handler.handler import handle
from lifecycle_handler.notify import ADAPTIVE_CARD, teams_text, webhook_kind

from infra.components import lifecycle_subscriptions
from tests.functions.conftest import APP, Boundary, FakeAuditStore, load, settings, shown

BREACH = "monitor_breach.json"
# checkov:skip=CKV_SECRET_14: a made-up Slack webhook of the documented shape (T000/B000/XXXX), no real token
SLACK = "https://hooks.slack.com/services/T000/B000/XXXX"
TEAMS_WORKFLOW = (
    "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=s"
)


def _devops_requests(boundary: Boundary) -> int:
    return sum("dev.azure.com" in r.url for r in boundary.sender.sent)


def _webhook_requests(boundary: Boundary) -> list[Any]:
    return [r for r in boundary.sender.sent if "dev.azure.com" not in r.url]


def _max_dequeue_count() -> int:
    return int(json.loads((APP / "host.json").read_text())["extensions"]["queues"]["maxDequeueCount"])


def test_a_refusing_webhook_is_audited_and_never_makes_the_host_retry(
    boundary: Boundary, caplog: pytest.LogCaptureFixture
) -> None:
    boundary.sender.fail_webhook_with = ActionFailed("POST contoso.webhook.office.com answered 400: bad card")
    with caplog.at_level(logging.WARNING, logger="lifecycle_handler"):
        outcome = handle(load(BREACH), settings(), boundary.deps)
    assert outcome.status == "handled"  # returned normally: the host deletes the message
    (record,) = boundary.audit.records.values()
    assert record["Status"] == "completed"
    assert record["RetrainRun"] == "1234"
    assert record["Notification"].startswith(
        "notification failed: POST contoso.webhook.office.com answered 400"
    )
    assert _devops_requests(boundary) == 1
    assert any("notification not delivered" in r.getMessage() for r in caplog.records)


def test_every_retry_the_host_makes_queues_retraining_once(boundary: Boundary) -> None:
    """The failure that queued up to 10 runs: Azure DevOps accepts, something after it fails, the host retries
    the message maxDequeueCount times. The run is recorded as soon as it is queued, so no retry queues again."""

    class CompletionFails(FakeAuditStore):
        def complete(self, record: Any, outcome: str) -> None:
            raise ActionFailed("PATCH lifecycleevents answered 503: server busy")

    boundary.audit = CompletionFails()
    for _ in range(_max_dequeue_count()):
        with pytest.raises(ActionFailed):
            handle(load(BREACH), settings(), boundary.deps)
        boundary.clock.advance(CLAIM_TIMEOUT)  # visibilityTimeout: the claim has expired when it comes back
    assert _devops_requests(boundary) == 1
    assert len(_webhook_requests(boundary)) == 1
    (record,) = boundary.audit.records.values()
    assert (record["RetrainRun"], record["Status"]) == ("1234", "pending")


def test_a_retry_after_the_run_was_queued_but_not_notified_only_notifies(boundary: Boundary) -> None:
    class DiesBeforeNotifying(FakeAuditStore):
        dead = True

        def record_action(self, record: Any, values: dict[str, str]) -> None:
            super().record_action(record, values)
            if "RetrainRun" in values and self.dead:
                self.dead = False
                raise RuntimeError("worker process killed")

    boundary.audit = DiesBeforeNotifying()
    with pytest.raises(RuntimeError):
        handle(load(BREACH), settings(), boundary.deps)
    assert (_devops_requests(boundary), len(_webhook_requests(boundary))) == (1, 0)
    boundary.clock.advance(CLAIM_TIMEOUT)
    retry = handle(load(BREACH), settings(), boundary.deps)
    assert retry.status == "handled"
    assert (_devops_requests(boundary), len(_webhook_requests(boundary))) == (1, 1)
    assert retry.detail.startswith("retraining run 1234 queued; teams answered 202")


def test_a_retry_after_notifying_does_not_notify_again(boundary: Boundary) -> None:
    class DiesAfterNotifying(FakeAuditStore):
        dead = True

        def complete(self, record: Any, outcome: str) -> None:
            if self.dead:
                self.dead = False
                raise RuntimeError("worker process killed")
            super().complete(record, outcome)

    boundary.audit = DiesAfterNotifying()
    with pytest.raises(RuntimeError):
        handle(load(BREACH), settings(), boundary.deps)
    boundary.clock.advance(CLAIM_TIMEOUT)
    assert handle(load(BREACH), settings(), boundary.deps).status == "handled"
    assert (_devops_requests(boundary), len(_webhook_requests(boundary))) == (1, 1)
    (record,) = boundary.audit.records.values()
    assert record["Outcome"].startswith("retraining run 1234 queued; notified earlier (teams answered 202")


def test_teams_gets_an_adaptive_card_and_its_202_is_audited_as_accepted(boundary: Boundary) -> None:
    """Teams webhooks are Workflows now, which support Adaptive Cards only: a `{"text"}` message is lost.
    https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
    A workflow's Request trigger answers 202 Accepted before its actions run, so a 202 says "accepted", not
    "posted": https://learn.microsoft.com/azure/connectors/connectors-native-reqres"""
    handle(load(BREACH), settings(webhook=TEAMS_WORKFLOW), boundary.deps)
    (card_request,) = _webhook_requests(boundary)
    assert webhook_kind(TEAMS_WORKFLOW) == "teams"
    body = card_request.body
    assert set(body) == {"type", "attachments"} and body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["body"][0] == {
        "type": "TextBlock",
        "text": "Model monitor threshold breached",
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
    }
    facts = {fact["title"]: fact["value"] for fact in card["body"][2]["facts"]}
    assert facts["Model"] == "credit-default"
    assert "text" not in body
    (record,) = boundary.audit.records.values()
    assert record["Notification"] == (
        "teams answered 202 (accepted: the workflow's run history shows whether it posted)"
    )


def test_slack_gets_text_and_its_answer_is_audited(boundary: Boundary) -> None:
    handle(load(BREACH), settings(webhook=SLACK), boundary.deps)
    (message,) = _webhook_requests(boundary)
    assert set(message.body) == {"text"}
    assert message.body["text"].startswith("*Model monitor threshold breached*\n")
    (record,) = boundary.audit.records.values()
    assert record["Notification"] == "slack answered 200: ok"


HOSTILE = "[approve](https://evil.example/x) <!channel> <https://evil.example|click> **now** & `x`"


@pytest.mark.parametrize("webhook", [TEAMS_WORKFLOW, SLACK])
def test_event_text_reaches_teams_and_slack_without_links_or_mentions(
    boundary: Boundary, webhook: str
) -> None:
    event = load("run_status_changed.json")
    event["data"]["experimentName"] = HOSTILE
    handle(event, settings(webhook=webhook), boundary.deps)
    (message,) = _webhook_requests(boundary)
    shown_part = message.body if webhook == SLACK else message.body["attachments"][0]["content"]["body"]
    raw = json.dumps(shown_part)
    assert "https://" not in raw and "http://" not in raw  # every URL from the event is defanged
    if webhook == SLACK:
        text = message.body["text"]
        assert "<!channel>" not in text and "<https" not in text and "&lt;!channel&gt;" in text
        assert "&amp; " in text
    else:
        texts = [e["text"] for e in message.body["attachments"][0]["content"]["body"] if "text" in e]
        assert "\\[approve\\]\\(https\\[:\\]//evil.example/x\\)" in texts[1]  # no markdown link
        assert "\\*\\*now\\*\\*" in texts[1]
        assert "[approve](https[:]//evil.example/x)" in shown(message)  # what a reader sees: inert text


def test_markdown_escaping_leaves_plain_names_readable() -> None:
    assert teams_text("credit-default v3.1") == "credit-default v3.1"
    assert teams_text("a_b") == "a\\_b"


@pytest.mark.parametrize(
    "key",
    [MONITOR_BREACH_TAG, MONITOR_BREACH_TAG.upper(), "AzureML_ModelMonitor_Threshold_Breached"],
)
def test_a_breach_is_never_notified_as_a_failed_run(boundary: Boundary, key: str) -> None:
    """The monitor-breach subscription matches the tag's key and text without regard to case, as Event Grid
    compares strings: https://learn.microsoft.com/azure/event-grid/event-filtering. The handler applies the same
    rule, so whatever Event Grid delivers as a breach is retrained and announced as a breach, once, however
    many subscriptions deliver it, never as a failed run."""
    event = load(BREACH)
    message = event["data"]["runTags"].pop(MONITOR_BREACH_TAG)
    event["data"]["runTags"][key] = message.upper() if key != MONITOR_BREACH_TAG else message
    for _subscription in ("run-failed", "monitor-breach"):
        handle(event, settings(), boundary.deps)
    (notification,) = _webhook_requests(boundary)
    assert "Model monitor threshold breached" in shown(notification)
    assert "Azure ML run failed" not in shown(notification)
    assert _devops_requests(boundary) == 1


def test_a_tag_without_the_breach_text_is_a_failed_run_as_event_grid_routes_it(boundary: Boundary) -> None:
    event = load(BREACH)
    event["data"]["runTags"][MONITOR_BREACH_TAG] = "signal skipped: no production data"
    handle(event, settings(), boundary.deps)
    (notification,) = _webhook_requests(boundary)
    assert "Azure ML run failed" in shown(notification)
    assert _devops_requests(boundary) == 0


def test_the_handlers_breach_rule_is_the_subscriptions_filter() -> None:
    _types, filters = lifecycle_subscriptions.SUBSCRIPTIONS["monitor-breach"]
    ((operator, key, values),) = filters
    assert operator == "StringContains"
    assert key.lower() == f"data.runtags.{MONITOR_BREACH_TAG}"
    assert values == (MONITOR_BREACH_TEXT,)
