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
    policies: dict[str, Any] = {"message_encode_policy": None, "message_decode_policy": None, **_RETRY}
    if connection_string is not None:
        return QueueClient.from_connection_string(connection_string, queue_name=queue, **policies)
    from azure.identity import DefaultAzureCredential

    return QueueClient(
        account_url=f"https://{account}.queue.core.windows.net",
        queue_name=queue,
        credential=DefaultAzureCredential(),
        **policies,
    )


def container_client(container: str, *, account: str | None, connection_string: str | None) -> Any:
    """A ContainerClient on the dead-letter container, with the same bounded retries."""
    from azure.storage.blob import ContainerClient

    if connection_string is not None:
        return ContainerClient.from_connection_string(connection_string, container_name=container, **_RETRY)
    from azure.identity import DefaultAzureCredential

    return ContainerClient(
        account_url=f"https://{account}.blob.core.windows.net",
        container_name=container,
        credential=DefaultAzureCredential(),
        **_RETRY,
    )


def unreachable(error: Exception) -> str:
    """The message for a request that never reached the account."""
    return (
        f"could not reach the storage account ({ATTEMPTS} attempts, {CONNECT_TIMEOUT} s to connect each): "
        f"{str(error).splitlines()[0][:300]}"
    )


def queue_name(value: str) -> str:
    if not QUEUE_NAME.fullmatch(value):
        msg = (
            f"{value!r} is not a queue name: 3-63 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit"
        )
        raise argparse.ArgumentTypeError(msg)
    return value


def container_name(value: str) -> str:
    if not QUEUE_NAME.fullmatch(value):  # containers follow the same rule as queues
        msg = (
            f"{value!r} is not a container name: 3-63 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit"
        )
        raise argparse.ArgumentTypeError(msg)
    return value


def account_name(value: str) -> str:
    if not ACCOUNT_NAME.fullmatch(value):
        msg = f"{value!r} is not a storage account name: 3-24 lowercase letters and digits"
        raise argparse.ArgumentTypeError(msg)
    return value
