"""Concurrent and abandoned deliveries of one event: the audit record's claim lets exactly one act.

A monitor breach matches the run-failed and monitor-breach subscriptions, so Event Grid writes it to the
queue twice with one event ID, and Flex Consumption can run both messages at once on two instances. The
fake audit store is the Azure boundary (create-if-absent, ETag-conditional updates); the clock is injected.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from lifecycle_handler.audit import CLAIM_TIMEOUT, StoredClaim
from lifecycle_handler.errors import ActionFailed, EventInProgress, LifecycleHandlerError
from lifecycle_handler.handler import Outcome, handle

from tests.functions.conftest import APP, Boundary, FakeAuditStore, load, settings

BREACH = "monitor_breach.json"


def _retraining_requests(boundary: Boundary) -> int:
    return sum("dev.azure.com" in r.url for r in boundary.sender.sent)


def _crashed_attempt(boundary: Boundary) -> dict[str, Any]:
    """The record an attempt leaves when its instance dies after claiming the event, before completing it."""
    boundary.sender.fail_with = RuntimeError("worker process killed")
    with pytest.raises(RuntimeError):
        handle(load(BREACH), settings(), boundary.deps)
    boundary.sender.fail_with = None
    (record,) = boundary.audit.records.values()
    return record


def test_event_in_progress_is_a_handler_error_the_function_re_raises() -> None:
    assert issubclass(EventInProgress, LifecycleHandlerError)
    assert not issubclass(EventInProgress, ActionFailed)  # not a failure: logged without a stack


class _SecondDeliveryDuringTheFirst(FakeAuditStore):
    """The audit table as the second instance sees it: its delivery arrives while the first is acting."""

    def __init__(self, second: Any) -> None:
        super().__init__()
        self.second = second
        self.second_result: BaseException | Outcome | None = None

    def complete(self, record: Any, outcome: str) -> None:
        try:
            self.second_result = self.second()
        except EventInProgress as busy:
            self.second_result = busy
        super().complete(record, outcome)


def test_two_deliveries_of_a_breach_at_once_queue_retraining_once(
    boundary: Boundary, caplog: pytest.LogCaptureFixture
) -> None:
    store = _SecondDeliveryDuringTheFirst(lambda: handle(load(BREACH), settings(), boundary.deps))
    boundary.audit = store
    with caplog.at_level(logging.INFO, logger="lifecycle_handler"):
        first = handle(load(BREACH), settings(), boundary.deps)
    assert first.status == "handled"
    # The second delivery found the record pending and freshly claimed: it raised and sent nothing.
    assert isinstance(store.second_result, EventInProgress)
    assert store.second_result.event_id == first.event_id
    assert _retraining_requests(boundary) == 1
    in_progress = [r for r in caplog.records if "in progress" in r.getMessage()]
    assert len(in_progress) == 1 and first.event_id in in_progress[0].getMessage()

    # The host retries the second message after visibilityTimeout: the first attempt has completed.
    boundary.clock.advance(CLAIM_TIMEOUT)
    redelivery = handle(load(BREACH), settings(), boundary.deps)
    assert redelivery.status == "duplicate"
    assert _retraining_requests(boundary) == 1
    assert len(boundary.audit.records) == 1


def test_a_second_delivery_within_the_claim_timeout_raises_and_sends_nothing(boundary: Boundary) -> None:
    record = _crashed_attempt(boundary)
    tokens_before = len(boundary.token.scopes)
    boundary.clock.advance(CLAIM_TIMEOUT - timedelta(seconds=1))
    with pytest.raises(EventInProgress, match="another delivery claimed this event"):
        handle(load(BREACH), settings(), boundary.deps)
    assert boundary.sender.sent == []
    assert record["Status"] == "pending"
    assert len(boundary.token.scopes) == tokens_before  # it did not even ask for an Azure DevOps token


def test_an_abandoned_pending_record_is_taken_over_and_its_actions_retried_once(
    boundary: Boundary, caplog: pytest.LogCaptureFixture
) -> None:
    crashed = _crashed_attempt(boundary)
    claimed_first: datetime = crashed["ClaimedAt"]
    boundary.clock.advance(CLAIM_TIMEOUT)
    with caplog.at_level(logging.INFO, logger="lifecycle_handler"):
        retry = handle(load(BREACH), settings(), boundary.deps)
    assert retry.status == "handled"
    assert _retraining_requests(boundary) == 1
    (record,) = boundary.audit.records.values()
    assert record["Status"] == "completed"
    assert record["ClaimedAt"] == claimed_first + CLAIM_TIMEOUT  # re-claimed by the taker
    assert any("taken over" in r.getMessage() for r in caplog.records)
    # Yet another copy, later, is a duplicate.
    boundary.clock.advance(CLAIM_TIMEOUT)
    assert handle(load(BREACH), settings(), boundary.deps).status == "duplicate"
    assert _retraining_requests(boundary) == 1


def test_a_record_without_a_claim_time_counts_as_abandoned(boundary: Boundary) -> None:
    # Written before the claim existed: PENDING and no ClaimedAt.
    record = _crashed_attempt(boundary)
    del record["ClaimedAt"]
    assert handle(load(BREACH), settings(), boundary.deps).status == "handled"
    assert _retraining_requests(boundary) == 1


class _RivalTakesOverFirst(FakeAuditStore):
    """Two instances both read the stale record (same ETag); the rival's conditional update lands first."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: Any = None
        self.rival_result: Outcome | None = None

    def take_over(self, claim: StoredClaim, claimed_at: datetime) -> bool:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            self.rival_result = rival()  # reads the same version, takes over, acts and completes
        return super().take_over(claim, claimed_at)


def test_of_two_takers_of_an_abandoned_record_only_one_acts(boundary: Boundary) -> None:
    store = _RivalTakesOverFirst()
    boundary.audit = store
    _crashed_attempt(boundary)
    boundary.clock.advance(CLAIM_TIMEOUT + timedelta(minutes=1))
    store.rival = lambda: handle(load(BREACH), settings(), boundary.deps)
    with pytest.raises(EventInProgress, match="took over the abandoned attempt first"):
        handle(load(BREACH), settings(), boundary.deps)
    assert store.rival_result is not None and store.rival_result.status == "handled"
    assert _retraining_requests(boundary) == 1
    (record,) = store.records.values()
    assert record["Status"] == "completed"


def test_the_fake_store_refuses_a_take_over_with_a_stale_etag(boundary: Boundary) -> None:
    # The fake is the Azure boundary: its conditional update must behave as If-Match does.
    _crashed_attempt(boundary)
    store = boundary.audit
    ((key, _),) = store.records.items()
    first, second = store.read_claim(*key), store.read_claim(*key)
    assert first.etag == second.etag
    later = boundary.clock() + CLAIM_TIMEOUT
    assert store.take_over(first, later) is True
    assert store.take_over(second, later) is False
    assert store.read_claim(*key).etag != first.etag
    assert store.read_claim(*key).claimed_at == later


def test_the_claim_timeout_is_the_queue_visibility_timeout_and_outlasts_an_attempt() -> None:
    host = json.loads((APP / "host.json").read_text(encoding="utf-8"))
    hours, minutes, seconds = (
        int(part) for part in host["extensions"]["queues"]["visibilityTimeout"].split(":")
    )
    assert timedelta(hours=hours, minutes=minutes, seconds=seconds) == CLAIM_TIMEOUT
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    # A claim never expires while the attempt that holds it can still be running.
    assert timedelta(hours=hours, minutes=minutes, seconds=seconds) < CLAIM_TIMEOUT


def test_the_function_logs_an_event_in_progress_as_one_warning_and_re_raises_it(
    boundary: Boundary, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.functions.test_function_app_adapter import _function_app, _invoke, _message

    _crashed_attempt(boundary)  # a claim taken a moment ago, still PENDING
    monkeypatch.setattr(_function_app(), "_runtime", lambda: (settings(), boundary.deps))
    with caplog.at_level(logging.INFO, logger="lifecycle_handler"), pytest.raises(EventInProgress):
        _invoke(_message(load(BREACH), dequeue_count=2))
    assert boundary.sender.sent == []
    ours = [r for r in caplog.records if r.name.startswith("lifecycle_handler")]
    warnings = [r for r in ours if r.levelno >= logging.WARNING]
    assert [r.levelname for r in warnings] == ["WARNING"]
    assert warnings[0].exc_info is None  # one line, no stack
    line = warnings[0].getMessage()
    assert "in progress elsewhere" in line and "attempt 2" in line and "retries it later" in line
