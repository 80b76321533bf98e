"""Replaying dead-lettered events: Event Grid's dead-letter blobs back into the event queue, as Event Grid writes.

Event Grid dead-letters an event it could not deliver (the inbox unreachable until the retry policy ran out, or
a final error such as 413 for an event larger than a queue message) as a JSON blob in the dead-letter container:
an array of events in the Event Grid schema, each with the properties Event Grid adds to say why
(deadLetterReason, deliveryAttempts, lastDeliveryOutcome, lastHttpStatusCode, publishTime,
lastDeliveryAttemptTime; https://learn.microsoft.com/azure/event-grid/delivery-and-retry#dead-letter-events).

Each event is stripped of those properties and sent to the event queue the way Event Grid delivers it (its JSON,
UTF-8, base64), so the function handles it like any delivery; only then is the blob deleted (a crash leaves the
blob, and a replayed event the handler has completed is a duplicate that does nothing). A blob is kept, and
reported, when it is not an array of events or when one of its events does not fit a queue message (64 KiB):
those need a person, not a replay.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEAD_LETTER_CONTAINER = "dead-letters"
"""The container the subscriptions dead-letter into (infra.components.lifecycle_events.DEAD_LETTER_CONTAINER; a
test checks they agree: functions/ never imports infra)."""
DEAD_LETTER_PROPERTIES = frozenset(
    {
        "deadLetterReason",
        "deliveryAttempts",
        "lastDeliveryOutcome",
        "lastHttpStatusCode",
        "publishTime",
        "lastDeliveryAttemptTime",
    }
)
"""What Event Grid adds to an event it dead-letters; the handler's queue never sees them."""
QUEUE_MESSAGE_LIMIT = 64 * 1024
"""A storage queue message holds at most 64 KiB (the base64 text Event Grid writes counts)."""


@dataclass
class BlobReplay:
    """What happened to one dead-letter blob."""

    name: str
    event_ids: list[str] = field(default_factory=list)
    """The events sent to the queue."""
    kept_because: str = ""
    """Why the blob was kept ("" when it was replayed whole and deleted)."""


def queue_body(event: dict[str, Any]) -> str:
    """The queue message Event Grid would have written for `event`: base64 of its JSON (without dead-letter
    properties)."""
    clean = {key: value for key, value in event.items() if key not in DEAD_LETTER_PROPERTIES}
    return base64.b64encode(json.dumps(clean, ensure_ascii=False).encode("utf-8")).decode("ascii")


def events_of(content: bytes) -> list[dict[str, Any]]:
    """The events of a dead-letter blob; ValueError naming what is wrong when it is not an array of events."""
    try:
        events = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        msg = f"not UTF-8 JSON ({err})"
        raise ValueError(msg) from err
    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list) or not all(isinstance(e, dict) and "id" in e for e in events):
        msg = "not an array of events (each an object with an id)"
        raise ValueError(msg)
    return events


def replay_dead_letters(
    container: Any,
    target: Any,
    *,
    prefix: str = "",
    limit: int | None = None,
    dry_run: bool = False,
    report: Callable[[BlobReplay], None] = lambda blob: None,
) -> list[BlobReplay]:
    """Replay up to `limit` blobs (default: all) under `prefix` of `container` (an azure-storage-blob
    ContainerClient) into `target` (a QueueClient without message policies); `report` sees each blob."""
    done: list[BlobReplay] = []
    for blob in container.list_blobs(name_starts_with=prefix or None):
        if limit is not None and len(done) >= limit:
            break
        outcome = BlobReplay(blob.name)
        try:
            events = events_of(container.download_blob(blob.name).readall())
        except ValueError as err:
            outcome.kept_because = str(err)
            events = []
        bodies = [(str(event["id"]), queue_body(event)) for event in events]
        too_large = [event_id for event_id, body in bodies if len(body) > QUEUE_MESSAGE_LIMIT]
        if too_large:
            outcome.kept_because = f"event(s) {', '.join(too_large)} larger than a queue message (64 KiB): read them, do not replay"
        if not outcome.kept_because:
            outcome.event_ids = [event_id for event_id, _ in bodies]
            if not dry_run:
                for _, body in bodies:
                    target.send_message(body)
                container.delete_blob(blob.name)
        done.append(outcome)
        report(outcome)
    return done
