"""Storage clients for functions/replay.py: the inbox's queues and dead-letter container, with bounded retries.

A refused or unreachable account fails within seconds: each request is tried at most ATTEMPTS times, each
connection given CONNECT_TIMEOUT seconds, and `unreachable` says so. (The SDK's defaults retry for about a
minute and a half before reporting anything.) Names are checked against Azure's rules before a client exists.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

ATTEMPTS = 2
"""Tries per request (the first and one retry)."""
CONNECT_TIMEOUT = 5
"""Seconds to wait for a connection."""
_RETRY = {
    "retry_total": ATTEMPTS - 1,
    "initial_backoff": 1,
    "increment_base": 2,
    "random_jitter_range": 1,
    "connection_timeout": CONNECT_TIMEOUT,
    "read_timeout": 60,
}
"""azure-storage clients' retry and timeout settings (their ExponentialRetry policy reads these keywords)."""

QUEUE_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
"""Azure queue names: 3-63 lowercase letters, digits and single hyphens, starting and ending alphanumeric."""
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")


def queue_client(queue: str, *, account: str | None, connection_string: str | None) -> Any:
    """A QueueClient on `queue` with no message encode/decode policy: content passes through unchanged."""
    from azure.storage.queue import QueueClient

    # None is the SDK's "no policy": message text is sent and returned exactly as it is.
    policies = {"message_encode_policy": None, "message_decode_policy": None}
    return _client(QueueClient, "queue", {"queue_name": queue}, account, connection_string, policies)


def container_client(container: str, *, account: str | None, connection_string: str | None) -> Any:
    """A ContainerClient on the dead-letter container, with the same bounded retries."""
    from azure.storage.blob import ContainerClient

    return _client(ContainerClient, "blob", {"container_name": container}, account, connection_string, {})


def _client(
    client_class: Any,
    service: str,
    name: dict[str, str],
    account: str | None,
    connection_string: str | None,
    options: dict[str, Any],
) -> Any:
    """`client_class` from the connection string, or on the account's `service` endpoint with
    DefaultAzureCredential; always with the bounded retries."""
    if connection_string is not None:
        return client_class.from_connection_string(connection_string, **name, **options, **_RETRY)
    from azure.identity import DefaultAzureCredential

    return client_class(
        account_url=f"https://{account}.{service}.core.windows.net",
        credential=DefaultAzureCredential(),
        **name,
        **options,
        **_RETRY,
    )


def unreachable(error: Exception) -> str:
    """The message for a request that never reached the account."""
    return (
        f"could not reach the storage account ({ATTEMPTS} attempts, {CONNECT_TIMEOUT} s to connect each): "
        f"{str(error).splitlines()[0][:300]}"
    )


def _named(kind: str) -> Any:
    """An argparse type for queue or container names (both follow one rule)."""

    def check(value: str) -> str:
        if not QUEUE_NAME.fullmatch(value):
            msg = (
                f"{value!r} is not a {kind} name: 3-63 lowercase letters, digits and single hyphens, "
                "starting and ending with a letter or digit"
            )
            raise argparse.ArgumentTypeError(msg)
        return value

    return check


queue_name = _named("queue")
container_name = _named("container")


def account_name(value: str) -> str:
    if not ACCOUNT_NAME.fullmatch(value):
        msg = f"{value!r} is not a storage account name: 3-24 lowercase letters and digits"
        raise argparse.ArgumentTypeError(msg)
    return value
