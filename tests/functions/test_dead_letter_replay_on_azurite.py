"""functions/replay.py --dead-letters on real storage: Azurite's blob and queue services, on loopback.

Dead-letter blobs are written as Event Grid writes them: a JSON array of events in the Event Grid schema, each
with the properties it adds when it gives up (deadLetterReason, deliveryAttempts, lastDeliveryOutcome,
publishTime, lastDeliveryAttemptTime), under <topic>/<subscription>/<date path>/ in the dead-letter container.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient, QueueServiceClient
from hypothesis import given
from hypothesis import strategies as st
from lifecycle_handler.events import parse_event
from lifecycle_handler.handler import handle

from functions.dead_letters import (
    DEAD_LETTER_CONTAINER,
    DEAD_LETTER_PROPERTIES,
    QUEUE_MESSAGE_LIMIT,
    events_of,
    queue_body,
)
from functions.replay import main
from functions.storage import ATTEMPTS, CONNECT_TIMEOUT
from infra.components import lifecycle_events
from tests.functions.conftest import DOCUMENTED_TOPIC, Boundary, load, settings
from tests.support.azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

DEAD_LETTERED = {
    "deadLetterReason": "MaxDeliveryAttemptsExceeded",
    "deliveryAttempts": 11,
    "lastDeliveryOutcome": "Probation",
    "lastHttpStatusCode": 503,
    "publishTime": "2026-11-02T03:01:00.0000000Z",
    "lastDeliveryAttemptTime": "2026-11-03T01:48:00.0000000Z",
}
PATH = "MLW-DEV-TOPIC/MONITOR-BREACH/2026/11/03/01"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["id", "data", "x"]), children)
    ),
    max_leaves=8,
)


@pytest.fixture
def storage(azurite: Azurite) -> Iterator[tuple[ContainerClient, QueueClient, str]]:
    """A fresh dead-letter container and event queue on the emulator, and a connection string to both."""
    suffix = uuid.uuid4().hex[:12]
    container = BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        f"dead-{suffix}"
    )
    queue = QueueServiceClient.from_connection_string(azurite.connection_string).create_queue(
        f"events-{suffix}"
    )
    yield container, queue, azurite.connection_string
    container.delete_container()
    queue.delete_queue()


def _run(
    connection_string: str, container: ContainerClient, queue: QueueClient, *extra: str
) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    args = [
        "--connection-string",
        connection_string,
        "--dead-letters",
        "--container",
        container.container_name,
    ]
    code = main([*args, "--to", queue.queue_name, *extra], out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def _messages(queue: QueueClient) -> list[dict[str, Any]]:
    return [json.loads(base64.b64decode(m.content)) for m in queue.peek_messages(max_messages=32)]


def test_the_container_is_the_one_the_subscriptions_dead_letter_into() -> None:
    assert DEAD_LETTER_CONTAINER == lifecycle_events.DEAD_LETTER_CONTAINER


def test_dead_lettered_events_go_back_to_the_queue_as_event_grid_delivers_them(
    storage: tuple[ContainerClient, QueueClient, str], boundary: Boundary
) -> None:
    """Dead-letter blobs hold the events with the dead-letter properties Event Grid adds:
    https://learn.microsoft.com/azure/event-grid/delivery-and-retry#dead-letter-events"""
    container, queue, connection = storage
    breach, failed = load("monitor_breach.json"), load("run_status_changed.json")
    container.upload_blob(f"{PATH}/a.json", json.dumps([breach | DEAD_LETTERED, failed | DEAD_LETTERED]))
    code, output = _run(connection, container, queue)
    assert code == 0, output
    assert f"replayed {PATH}/a.json: event(s) {breach['id']}, {failed['id']}" in output
    assert "1 blob(s), 2 event(s) sent to" in output
    replayed = _messages(queue)
    assert replayed == [breach, failed]  # byte-for-byte the events, without what Event Grid added
    assert not any(set(event) & DEAD_LETTER_PROPERTIES for event in replayed)
    assert list(container.list_blobs()) == []  # deleted once every event was sent
    # The handler takes each replayed message as it takes a first delivery.
    (first,) = queue.receive_messages(max_messages=1)
    outcome = handle(base64.b64decode(first.content), settings(), boundary.deps)
    assert outcome.status == "handled"
    assert (
        parse_event(base64.b64decode(first.content), expected_topic=DOCUMENTED_TOPIC).envelope.id
        == breach["id"]
    )


def test_a_dry_run_lists_and_moves_nothing(storage: tuple[ContainerClient, QueueClient, str]) -> None:
    container, queue, connection = storage
    container.upload_blob(f"{PATH}/a.json", json.dumps([load("monitor_breach.json") | DEAD_LETTERED]))
    code, output = _run(connection, container, queue, "--dry-run")
    assert code == 0
    assert f"would replay {PATH}/a.json" in output and "1 event(s) listed" in output
    assert _messages(queue) == [] and len(list(container.list_blobs())) == 1


def test_blobs_that_cannot_be_replayed_are_kept_and_named(
    storage: tuple[ContainerClient, QueueClient, str],
) -> None:
    container, queue, connection = storage
    huge = load("monitor_breach.json") | {"id": "too-big"}
    huge["data"]["runTags"]["padding"] = "x" * QUEUE_MESSAGE_LIMIT  # why Event Grid dead-lettered it (413)
    container.upload_blob(f"{PATH}/huge.json", json.dumps([huge | DEAD_LETTERED]))
    container.upload_blob(f"{PATH}/junk.json", b"\xff not json")
    container.upload_blob(f"{PATH}/object.json", json.dumps({"no": "id"}))
    container.upload_blob(f"{PATH}/ok.json", json.dumps([load("model_registered.json") | DEAD_LETTERED]))
    code, output = _run(connection, container, queue)
    assert code == 1  # something needs a person
    assert f"kept {PATH}/huge.json: event(s) too-big larger than a queue message (64 KiB)" in output
    assert f"kept {PATH}/junk.json: not UTF-8 JSON" in output
    assert f"kept {PATH}/object.json: not an array of events" in output
    assert "1 blob(s), 1 event(s) sent to" in output and "3 blob(s) kept" in output
    assert sorted(b.name for b in container.list_blobs()) == [
        f"{PATH}/{n}.json" for n in ("huge", "junk", "object")
    ]
    assert [m["id"] for m in _messages(queue)] == [load("model_registered.json")["id"]]


def test_prefix_and_max_limit_what_is_replayed(storage: tuple[ContainerClient, QueueClient, str]) -> None:
    container, queue, connection = storage
    for name in ("x/1.json", "x/2.json", "y/3.json"):
        container.upload_blob(name, json.dumps([load("model_registered.json") | {"id": name[2]}]))
    code, _ = _run(connection, container, queue, "--prefix", "x/", "--max", "1")
    assert code == 0
    assert sorted(b.name for b in container.list_blobs()) == ["x/2.json", "y/3.json"]


def test_a_missing_container_is_named(storage: tuple[ContainerClient, QueueClient, str]) -> None:
    _, queue, connection = storage
    out, err = io.StringIO(), io.StringIO()
    args = ["--connection-string", connection, "--dead-letters", "--container", "no-such-container"]
    assert main([*args, "--to", queue.queue_name], out=out, err=err) == 1
    assert "--container: container 'no-such-container' does not exist" in err.getvalue()


@pytest.mark.parametrize("mode", [[], ["--dead-letters"]], ids=["poison-queue", "dead-letters"])
def test_a_refused_port_fails_within_seconds_and_says_so(mode: list[str]) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"QueueEndpoint={endpoint};BlobEndpoint={endpoint}"
    )
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    assert main(["--connection-string", connection, *mode], out=out, err=err) == 1
    assert time.monotonic() - started < ATTEMPTS * CONNECT_TIMEOUT + 10  # not the SDK default's ~90 s
    assert (
        f"could not reach the storage account ({ATTEMPTS} attempts, {CONNECT_TIMEOUT} s to connect each)"
        in (err.getvalue())
    )


@given(content=st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), JSON_VALUES))
def test_any_blob_content_is_events_or_a_refusal_that_says_why(content: bytes) -> None:
    try:
        events = events_of(content)
    except ValueError as refused:
        assert str(refused).startswith(("not UTF-8 JSON", "not an array of events"))
    else:
        assert all(isinstance(event, dict) and "id" in event for event in events)
        for event in events:  # and each becomes the message Event Grid would have written
            assert json.loads(base64.b64decode(queue_body(event))) == {
                k: v for k, v in event.items() if k not in DEAD_LETTER_PROPERTIES
            }
