"""Replaying lifecycle events: move the messages of the poison queue back to the event queue.

    python -m functions.replay --account stinbmlopsdev                # every message, poison -> event queue
    python -m functions.replay --account stinbmlopsdev --dry-run      # list them, move nothing
    python -m functions.replay --account stinbmlopsdev --max 10
    python -m functions.replay --connection-string "$CONN" --from lifecycle-events-poison --to lifecycle-events
    python -m functions.replay --account stinbmlopsdev --dead-letters  # dead-letter blobs -> event queue

Fix the cause first (each failed attempt's log line is in Application Insights), then replay. `--account`
is the inbox storage account (https://<account>.queue.core.windows.net), reached with DefaultAzureCredential
(an Azure CLI login, a managed identity...) holding Storage Queue Data Contributor on it, from a machine that
reaches it (inside the VNet for a private stack). `--connection-string` is for an emulator or a test.

Messages are moved as they are: the queue clients have no message encode or decode policy, so the base64
text Event Grid and the Functions host wrote stays exactly what the trigger expects. Each message is
received with a visibility timeout, sent to the target, and only then deleted from the source: a crash
between the two leaves a copy in both queues (at least once, never lost), and the handler is idempotent, so
a replayed event whose audit record is completed does nothing. One line is printed per message moved (its
id and dequeue count), then a summary. Exit code 0 on success, 1 when a queue is missing, Azure refuses or
cannot be reached, or a dead-letter blob had to be kept, 2 for invalid options.

`--dead-letters` replays the dead-letter container's blobs instead (functions/dead_letters.py): each event, as
Event Grid would have delivered it, into the event queue, then the blob is deleted; one line per blob.

An unreachable account fails fast: each request is tried at most ATTEMPTS times, with a CONNECT_TIMEOUT, and
the error says so (the SDK's default retries would wait about a minute and a half before saying anything).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from functions.dead_letters import DEAD_LETTER_CONTAINER, BlobReplay, replay_dead_letters
from functions.storage import (
    account_name,
    container_client,
    container_name,
    queue_client,
    queue_name,
    unreachable,
)

EVENT_QUEUE = "lifecycle-events"
"""The queue Event Grid delivers lifecycle events into (infra.components.lifecycle_events.EVENT_QUEUE; a
test checks they agree: functions/ never imports infra)."""
POISON_QUEUE = f"{EVENT_QUEUE}-poison"
"""Where the Functions host moves a message after maxDequeueCount failed attempts (`<queue>-poison`)."""
VISIBILITY_TIMEOUT = 60
"""Seconds a received message stays hidden from other readers while it is copied, then deleted."""
PEEK_LIMIT = 32
"""The most messages a queue shows to a peek: a dry run lists at most this many."""


class ReplayError(Exception):
    """A queue that does not exist, or a request Azure refused."""


@dataclass(frozen=True)
class Moved:
    """One message replayed: its id in the source queue, how often it was dequeued there, its new id."""

    source_id: str
    dequeue_count: int
    target_id: str


def replay(
    source: Any,
    target: Any,
    *,
    limit: int | None = None,
    visibility_timeout: int = VISIBILITY_TIMEOUT,
    report: Callable[[Moved], None] = lambda moved: None,
) -> list[Moved]:
    """Move up to `limit` (default: all) messages from `source` to `target` (azure-storage-queue
    QueueClients without message policies), each sent before it is deleted; `report` sees each one."""
    _require_queues(source, target)
    moved: list[Moved] = []
    while limit is None or len(moved) < limit:
        want = PEEK_LIMIT if limit is None else min(PEEK_LIMIT, limit - len(moved))
        batch = list(
            source.receive_messages(
                messages_per_page=want, max_messages=want, visibility_timeout=visibility_timeout
            )
        )
        if not batch:
            break
        for message in batch:
            sent = target.send_message(message.content)
            source.delete_message(message.id, message.pop_receipt)
            moved.append(Moved(message.id, int(message.dequeue_count or 0), sent.id))
            report(moved[-1])
    return moved


def peek(source: Any, target: Any, *, limit: int | None = None) -> list[Any]:
    """The messages a replay would move first (at most PEEK_LIMIT), left where they are."""
    _require_queues(source, target)
    return list(source.peek_messages(max_messages=min(PEEK_LIMIT, limit or PEEK_LIMIT)))


def _require_queues(source: Any, target: Any) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    for option, queue in (("--from", source), ("--to", target)):
        try:
            queue.get_queue_properties()
        except ResourceNotFoundError as err:
            msg = f"{option}: queue {queue.queue_name!r} does not exist at {queue.url.rsplit('/', 1)[0]}"
            raise ReplayError(msg) from err


def describe(content: str | None) -> str:
    """A short, printable view of a message body: the event's id and type when it is a base64 event."""
    text = content or ""
    try:
        event = json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        event = None
    if isinstance(event, dict) and "id" in event:
        return f"event {event.get('id')} {event.get('eventType', '')}".rstrip()
    return repr(text[:80] + ("..." if len(text) > 80 else ""))


def _at_least_one(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1 or str(number) != value.strip():
        msg = f"must be a whole number, at least 1 (got {value!r})"
        raise argparse.ArgumentTypeError(msg)
    return number


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = argparse.ArgumentParser(
        prog="python -m functions.replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--account", type=account_name, metavar="NAME", help="the inbox storage account name")
    where.add_argument(
        "--connection-string", metavar="CONN", help="a storage connection string (an emulator, tests)"
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="QUEUE",
        type=queue_name,
        default=POISON_QUEUE,
        help=f"default {POISON_QUEUE}",
    )
    parser.add_argument(
        "--to",
        dest="target",
        metavar="QUEUE",
        type=queue_name,
        default=EVENT_QUEUE,
        help=f"default {EVENT_QUEUE}",
    )
    parser.add_argument(
        "--max", type=_at_least_one, metavar="N", help="move at most this many messages (default: all)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list the messages (peek), move nothing")
    parser.add_argument(
        "--dead-letters",
        action="store_true",
        help=f"replay the dead-letter blobs of --container (default {DEAD_LETTER_CONTAINER}) instead of --from",
    )
    parser.add_argument("--container", default=DEAD_LETTER_CONTAINER, type=container_name, metavar="NAME")
    parser.add_argument("--prefix", default="", metavar="PATH", help="only dead-letter blobs under this path")
    parser.add_argument(
        "--visibility-timeout",
        type=_at_least_one,
        metavar="SECONDS",
        default=VISIBILITY_TIMEOUT,
        help=f"seconds a received message stays hidden while it is moved (default {VISIBILITY_TIMEOUT})",
    )
    args = parser.parse_args(argv)
    if args.source == args.target and not args.dead_letters:
        parser.error(f"--from and --to: both name {args.source!r}; a queue cannot be replayed into itself")

    from azure.core.exceptions import AzureError, ServiceRequestError

    if args.dead_letters:
        return _dead_letters(args, out, err)
    try:
        source, target = (
            queue_client(name, account=args.account, connection_string=args.connection_string)
            for name in (args.source, args.target)
        )
        if args.dry_run:
            messages = peek(source, target, limit=args.max)
            for message in messages:
                print(
                    f"would move {message.id} (dequeue count {message.dequeue_count}): "
                    f"{describe(message.content)}",
                    file=out,
                )
            shown = " (a peek shows at most 32)" if len(messages) == PEEK_LIMIT else ""
            print(
                f"dry run: {len(messages)} message(s) in {args.source}{shown}; nothing moved to {args.target}",
                file=out,
            )
            return 0
        moved = replay(
            source,
            target,
            limit=args.max,
            visibility_timeout=args.visibility_timeout,
            report=lambda m: print(f"moved {m.source_id} (dequeue count {m.dequeue_count})", file=out),
        )
    except ServiceRequestError as error:
        print(f"replay failed: {unreachable(error)}", file=err)
        return 1
    except (ReplayError, AzureError, ValueError) as error:
        print(f"replay failed: {error}", file=err)
        return 1
    print(f"moved {len(moved)} message(s) from {args.source} to {args.target}", file=out)
    return 0


def _dead_letters(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from azure.core.exceptions import AzureError, ResourceNotFoundError, ServiceRequestError

    def line(blob: BlobReplay) -> None:
        if blob.kept_because:
            print(f"kept {blob.name}: {blob.kept_because}", file=out)
        else:
            verb = "would replay" if args.dry_run else "replayed"
            print(f"{verb} {blob.name}: event(s) {', '.join(blob.event_ids) or '(none)'}", file=out)

    try:
        target = queue_client(args.target, account=args.account, connection_string=args.connection_string)
        container = container_client(
            args.container, account=args.account, connection_string=args.connection_string
        )
        _require_queues(target, target)
        try:
            container.get_container_properties()
        except ResourceNotFoundError as missing:
            msg = f"--container: container {args.container!r} does not exist at {container.url.rsplit('/', 1)[0]}"
            raise ReplayError(msg) from missing
        blobs = replay_dead_letters(
            container, target, prefix=args.prefix, limit=args.max, dry_run=args.dry_run, report=line
        )
    except ServiceRequestError as error:
        print(f"replay failed: {unreachable(error)}", file=err)
        return 1
    except (ReplayError, AzureError) as error:
        print(f"replay failed: {error}", file=err)
        return 1
    kept = [blob for blob in blobs if blob.kept_because]
    events = sum(len(blob.event_ids) for blob in blobs if not blob.kept_because)
    done = "listed" if args.dry_run else f"sent to {args.target}"
    print(f"{len(blobs) - len(kept)} blob(s), {events} event(s) {done}; {len(kept)} blob(s) kept", file=out)
    return 1 if kept else 0


if __name__ == "__main__":
    raise SystemExit(main())
