"""The Functions adapter: a queue-triggered function whose binding, host.json retries and message bodies
agree with the infrastructure that creates the queue and the Event Grid subscriptions."""

from __future__ import annotations

import importlib
import json
import logging
import os
from functools import cache
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from azure.functions.queue import QueueMessage
from lifecycle_handler.errors import ActionFailed
from lifecycle_handler.events import SUBSCRIBED_TYPES, parse_event

from infra.components.lifecycle_events import (
    EVENT_QUEUE,
    POISON_QUEUE,
    QUEUE_CONNECTION,
    QUEUE_NAME_SETTING,
)
from infra.components.lifecycle_subscriptions import SUBSCRIPTIONS
from tests.functions.conftest import (
    APP,
    APP_SETTINGS,
    DOCUMENTED_TOPIC,
    FUNCTION_NAME,
    Boundary,
    load,
    settings,
)

DOCUMENTED = (
    "model_registered.json",
    "model_deployed.json",
    "run_status_changed.json",
    "monitor_breach.json",
)


def _message(event: Any, *, dequeue_count: int = 1) -> QueueMessage:
    """The message the worker binds: the body Event Grid wrote, once the host has base64-decoded it."""
    return QueueMessage(
        id="7c9e6679-7425-40de-944b-e07fc1f90ae7",
        body=json.dumps(event).encode("utf-8"),
        dequeue_count=dequeue_count,
        pop_receipt="AgAAAAMAAAAAAAAA",
    )


def _function_app() -> ModuleType:
    """The app module, first imported as the host loads it: with valid app settings (checked at import)."""
    with mock.patch.dict(os.environ, APP_SETTINGS):
        return importlib.import_module("function_app")


@cache
def _functions() -> list[Any]:
    """The app's indexed functions; indexing twice is an error (names must be unique), so it happens once."""
    return _function_app().app.get_functions()


def _invoke(message: QueueMessage) -> None:
    """Run the registered function's own body, as the worker does for one message."""
    (function,) = _functions()
    function.get_user_function()(message)


@pytest.mark.parametrize("fixture", DOCUMENTED)
def test_the_handler_accepts_the_queue_message_of_every_documented_event(fixture: str) -> None:
    documented = load(fixture)
    parsed = parse_event(_message(documented).get_body(), expected_topic=DOCUMENTED_TOPIC)
    assert parsed.envelope.id == documented["id"]
    assert parsed.envelope.event_type == documented["eventType"]


def test_the_app_registers_one_queue_triggered_function_on_the_stack_queue() -> None:
    functions = _functions()
    assert [f.get_function_name() for f in functions] == [FUNCTION_NAME]
    (binding,) = functions[0].get_bindings()
    assert binding.type == "queueTrigger"
    assert binding.name == "message"
    (raw,) = (json.loads(b) for b in functions[0].get_raw_bindings())
    # The queue is named by an app setting, read through the identity-based connection the stack sets.
    assert raw["queueName"] == f"%{QUEUE_NAME_SETTING}%"
    assert raw["connection"] == QUEUE_CONNECTION
    assert f"{EVENT_QUEUE}-poison" == POISON_QUEUE  # the name the host gives the poison queue
    # The types the Event Grid subscriptions deliver are the types the handler accepts.
    assert {t for types, _ in SUBSCRIPTIONS.values() for t in types} == set(SUBSCRIBED_TYPES)


def test_host_json_decodes_base64_messages_and_retries_before_poisoning() -> None:
    host = json.loads((APP / "host.json").read_text(encoding="utf-8"))
    queues = host["extensions"]["queues"]
    assert queues["messageEncoding"] == "base64"
    assert queues["maxDequeueCount"] >= 5
    hours, minutes, seconds = (int(part) for part in queues["visibilityTimeout"].split(":"))
    retry_window = (queues["maxDequeueCount"] - 1) * (hours * 3600 + minutes * 60 + seconds)
    assert retry_window >= 60 * 60  # a failed action is retried for at least an hour before poisoning
    assert queues["batchSize"] + queues["newBatchThreshold"] == 1  # one message at a time per instance
    assert host["functionTimeout"] == "00:05:00"


def test_the_function_queues_retraining_for_a_breach_message(
    boundary: Boundary, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_function_app(), "_runtime", lambda: (settings(), boundary.deps))
    with caplog.at_level(logging.INFO, logger="lifecycle_handler"):
        _invoke(_message(load("monitor_breach.json"), dequeue_count=3))
    assert [r.url.split("/")[2] for r in boundary.sender.sent] == [
        "dev.azure.com",
        "contoso.webhook.office.com",
    ]
    ((_, record),) = boundary.audit.records.items()
    assert record["Status"] == "completed"
    assert record["Outcome"].startswith("retraining run 1234 queued")
    received = caplog.records[0].getMessage()
    assert "7c9e6679-7425-40de-944b-e07fc1f90ae7" in received and "attempt 3" in received


def test_a_failed_action_is_raised_so_the_host_retries_the_message(
    boundary: Boundary, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    boundary.sender.fail_with = ActionFailed("POST dev.azure.com answered 503: unavailable")
    monkeypatch.setattr(_function_app(), "_runtime", lambda: (settings(), boundary.deps))
    with pytest.raises(ActionFailed) as raised:
        _invoke(_message(load("monitor_breach.json")))
    assert "503" in str(raised.value)
    (record,) = boundary.audit.records.values()
    assert record["Status"] == "pending"
    assert any(r.levelname == "ERROR" and "the host retries it" in r.getMessage() for r in caplog.records)


def test_a_malformed_message_returns_normally_so_the_host_deletes_it(
    boundary: Boundary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_function_app(), "_runtime", lambda: (settings(), boundary.deps))
    message = QueueMessage(id="m-1", body=b"\xff\xfe not an event", dequeue_count=1)
    _invoke(message)  # no exception: the message is acknowledged, not retried
    assert boundary.audit.records == {} and boundary.sender.sent == []
