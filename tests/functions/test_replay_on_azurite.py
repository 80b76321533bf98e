"""functions/replay.py moving messages between real queues: Azurite, the Azure Storage emulator, on loopback.

The queues, their receive/visibility/delete semantics and the message bodies are the emulator's; messages are
written the way Event Grid and the Functions host write them (base64 text), and read back raw.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from azure.storage.queue import QueueClient, QueueServiceClient

from functions import replay
from functions.replay import EVENT_QUEUE, POISON_QUEUE, main
from infra.components import lifecycle_events
from tests.functions.conftest import FIXTURES
from tests.support.azurite_server import Azurite


def _event_grid_body(event: dict[str, object]) -> str:
    """An event as Event Grid writes it into a storage queue: its JSON, UTF-8, base64 text."""
    return base64.b64encode(json.dumps(event, ensure_ascii=False).encode("utf-8")).decode("ascii")


BREACH = json.loads((FIXTURES / "monitor_breach.json").read_text(encoding="utf-8"))[0]
BODIES = [
    _event_grid_body(BREACH),
    _event_grid_body(BREACH | {"id": "7a1c", "subject": "models/crédit-défaut:3 — ünïcode"}),
    "plain text, not base64: ärger ✓ 😀",
    '{"id": "raw-json"}',
]


@pytest.fixture
def queues(azurite: Azurite) -> Iterator[tuple[QueueClient, QueueClient]]:
    """A fresh poison queue and event queue on the emulator (raw clients: no message encoding)."""
    service = QueueServiceClient.from_connection_string(azurite.connection_string)
    suffix = uuid.uuid4().hex[:12]
    poison = service.create_queue(f"poison-{suffix}")
    events = service.create_queue(f"events-{suffix}")
    yield poison, events
    for queue in (poison, events):
        queue.delete_queue()


def _run(azurite: Azurite, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--connection-string", azurite.connection_string, *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _bodies(queue: QueueClient) -> list[str]:
    return [m.content for m in queue.peek_messages(max_messages=32)]


def _names(queues: tuple[QueueClient, QueueClient]) -> list[str]:
    poison, events = queues
    return ["--from", poison.queue_name, "--to", events.queue_name]


def test_the_queue_names_are_the_infrastructure_s() -> None:
    assert EVENT_QUEUE == lifecycle_events.EVENT_QUEUE
    assert POISON_QUEUE == lifecycle_events.POISON_QUEUE


def test_every_message_is_moved_byte_for_byte_and_the_source_emptied(
    azurite: Azurite, queues: tuple[QueueClient, QueueClient]
) -> None:
    poison, events = queues
    for body in BODIES:
        poison.send_message(body)
    received = poison.receive_message(visibility_timeout=1)  # a dequeue count above 1 after a retry
    assert received is not None
    poison.update_message(received, visibility_timeout=0)

    code, out, err = _run(azurite, *_names(queues))
    assert (code, err) == (0, "")
    assert sorted(_bodies(events)) == sorted(BODIES)
    assert [body.encode("utf-8") for body in sorted(_bodies(events))] == [
        body.encode("utf-8") for body in sorted(BODIES)
    ]
    assert _bodies(poison) == []
    lines = out.splitlines()
    assert len(lines) == len(BODIES) + 1
    assert all(line.startswith("moved ") and "(dequeue count " in line for line in lines[:-1])
    assert any("(dequeue count 2)" in line for line in lines[:-1])
    assert lines[-1] == f"moved {len(BODIES)} message(s) from {poison.queue_name} to {events.queue_name}"


def test_a_replayed_event_is_what_the_trigger_decodes(
    azurite: Azurite, queues: tuple[QueueClient, QueueClient]
) -> None:
    poison, events = queues
    poison.send_message(_event_grid_body(BREACH))
    assert _run(azurite, *_names(queues))[0] == 0
    (message,) = events.receive_messages()
    assert json.loads(base64.b64decode(message.content)) == BREACH


def test_max_limits_how_many_are_moved(azurite: Azurite, queues: tuple[QueueClient, QueueClient]) -> None:
    poison, events = queues
    for body in BODIES:
        poison.send_message(body)
    code, out, _ = _run(azurite, *_names(queues), "--max", "3")
    assert code == 0
    assert len(_bodies(events)) == 3 and len(_bodies(poison)) == len(BODIES) - 3
    assert sorted(_bodies(events) + _bodies(poison)) == sorted(BODIES)
    assert out.splitlines()[-1].startswith("moved 3 message(s)")


def test_a_dry_run_lists_the_messages_and_moves_nothing(
    azurite: Azurite, queues: tuple[QueueClient, QueueClient]
) -> None:
    poison, events = queues
    for body in BODIES:
        poison.send_message(body)
    code, out, _ = _run(azurite, *_names(queues), "--dry-run")
    assert code == 0
    assert sorted(_bodies(poison)) == sorted(BODIES) and _bodies(events) == []
    lines = out.splitlines()
    assert sum(line.startswith("would move ") for line in lines) == len(BODIES)
    assert f"event {BREACH['id']} {BREACH['eventType']}" in out  # the base64 event, decoded for the reader
    assert lines[-1].startswith(f"dry run: {len(BODIES)} message(s) in {poison.queue_name}")
    # Peeked, not received: nothing became invisible or was dequeued.
    assert all(m.dequeue_count == 0 for m in poison.peek_messages(max_messages=32))


def test_an_empty_source_moves_nothing_and_succeeds(
    azurite: Azurite, queues: tuple[QueueClient, QueueClient]
) -> None:
    code, out, _ = _run(azurite, *_names(queues))
    assert code == 0
    assert out.strip().endswith(
        "moved 0 message(s) from " + queues[0].queue_name + " to " + queues[1].queue_name
    )


@pytest.mark.parametrize("side", ["--from", "--to"])
def test_a_missing_queue_is_a_clear_error(
    azurite: Azurite, queues: tuple[QueueClient, QueueClient], side: str
) -> None:
    poison, events = queues
    poison.send_message(BODIES[0])
    names = {"--from": poison.queue_name, "--to": events.queue_name} | {side: "no-such-queue"}
    code, out, err = _run(azurite, "--from", names["--from"], "--to", names["--to"])
    assert code == 1 and out == ""
    assert f"{side}: queue 'no-such-queue' does not exist at " in err
    assert azurite.endpoint("queue") in err
    assert _bodies(poison) == [BODIES[0]]  # nothing received, nothing lost


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--max", "0"], "argument --max: must be a whole number, at least 1 (got '0')"),
        (["--max", "two"], "argument --max: must be a whole number, at least 1 (got 'two')"),
        (["--from", "Lifecycle_Events"], "argument --from: 'Lifecycle_Events' is not a queue name"),
        (["--to", "ab"], "argument --to: 'ab' is not a queue name"),
        (["--to", "life--events"], "argument --to: 'life--events' is not a queue name"),
        (["--from", "lifecycle-events"], "--from and --to: both name 'lifecycle-events'"),
    ],
)
def test_invalid_options_are_refused_naming_the_option(
    args: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--connection-string", "UseDevelopmentStorage=true", *args])
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_an_account_name_is_checked_and_becomes_the_queue_endpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--account", "Not_An_Account"])
    assert "argument --account: 'Not_An_Account' is not a storage account name" in capsys.readouterr().err
    client = replay.queue_client(POISON_QUEUE, account="stinbmlopsdev", connection_string=None)
    assert client.url == f"https://stinbmlopsdev.queue.core.windows.net/{POISON_QUEUE}"
    assert client._message_encode_policy.__class__.__name__ == "NoEncodePolicy"
    assert client._message_decode_policy.__class__.__name__ == "NoDecodePolicy"


def test_one_of_account_or_connection_string_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([])
    assert "one of the arguments --account --connection-string is required" in capsys.readouterr().err


class _TargetThatFails:
    """The event queue, failing on the second send (the operator's machine dies mid-replay)."""

    def __init__(self, queue: QueueClient) -> None:
        self.queue, self.sends = queue, 0
        self.queue_name, self.url = queue.queue_name, queue.url

    def get_queue_properties(self) -> object:
        return self.queue.get_queue_properties()

    def send_message(self, content: str) -> object:
        self.sends += 1
        if self.sends == 2:
            raise ConnectionError("connection reset")
        return self.queue.send_message(content)


def test_a_failure_between_receive_and_delete_loses_nothing(
    queues: tuple[QueueClient, QueueClient],
) -> None:
    poison, events = queues
    for body in BODIES[:3]:
        poison.send_message(body)
    with pytest.raises(ConnectionError):
        replay.replay(poison, _TargetThatFails(events), visibility_timeout=1)
    (moved,) = _bodies(events)
    # The message whose send failed was never deleted: it reappears after the visibility timeout.
    deadline = time.monotonic() + 10
    while len(_bodies(poison)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted([moved, *_bodies(poison)]) == sorted(BODIES[:3])
