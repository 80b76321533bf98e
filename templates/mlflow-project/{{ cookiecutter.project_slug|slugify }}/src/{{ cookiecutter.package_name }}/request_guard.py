"""A thin ASGI guard in front of MLflow's scoring app: refuse what MLflow would answer with 500.

MLflow's scoring server parses the body itself, and a few bodies escape its error handling: a body
that is not UTF-8 (UnicodeDecodeError), JSON nested deeper than Python's recursion limit
(RecursionError), an integer longer than Python's int-conversion limit (4,300 digits, ValueError).
It also reads a body of any size. The guard reads at most MAX_BODY_BYTES, checks those cases and
answers 413/400 with MLflow's own error shape ({"error_code", "message"}); every other body reaches
MLflow unchanged, and the model's schema (validated_model) judges the rows.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 5 * 1024 * 1024
"""Largest request body read: ~20,000 rows of this model's features in `dataframe_split`."""
MAX_JSON_DEPTH = 10
"""Deepest JSON accepted: every MLflow scoring format for a table nests 4 levels at most."""


class BadRequestError(Exception):
    """A body the guard refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_body(body: bytes, content_type: str) -> None:
    """Raise BadRequestError naming what is wrong with `body`; return when MLflow can parse it safely."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequestError(f"request body: {len(body)} bytes, the limit is {MAX_BODY_BYTES}", 413)
    mime = content_type.split(";")[0].strip().lower()
    if mime not in {"application/json", "text/csv"}:
        return  # parquet is binary; MLflow refuses unknown content types with 415 itself.
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadRequestError(
            f"request body: not UTF-8 (byte {body[err.start]:#04x} at offset {err.start}); send UTF-8 text"
        ) from err
    if mime == "application/json":
        check_json(text)


def check_json(text: str) -> None:
    try:
        document = json.loads(text)
    except RecursionError as err:
        raise BadRequestError(f"request body: JSON nested deeper than {MAX_JSON_DEPTH} levels") from err
    except ValueError as err:  # JSONDecodeError, and integers past Python's digit limit
        raise BadRequestError(f"request body: not valid JSON ({err})") from err
    if (depth := json_depth(document)) > MAX_JSON_DEPTH:
        raise BadRequestError(f"request body: JSON nested {depth} levels deep, the limit is {MAX_JSON_DEPTH}")


def json_depth(document: object) -> int:
    """How many arrays/objects deep `document` nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:  # deeper than the limit is refused anyway: stop walking
            stack.extend((child, depth + 1) for child in children)
    return deepest


class RequestGuard:
    """ASGI middleware: buffer a POST body (bounded), check it, then replay it to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        try:
            body = await _read_body(receive, headers.get("content-length"))
            check_body(body, headers.get("content-type", ""))
        except BadRequestError as err:
            await _refuse(send, err)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _read_body(receive: Receive, content_length: str | None) -> bytes:
    if content_length is not None and content_length.isdigit() and int(content_length) > MAX_BODY_BYTES:
        raise BadRequestError(f"request body: {content_length} bytes, the limit is {MAX_BODY_BYTES}", 413)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequestError(f"request body: more than {MAX_BODY_BYTES} bytes, the limit", 413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _refuse(send: Send, err: BadRequestError) -> None:
    code = "BAD_REQUEST" if err.status == 400 else "REQUEST_LIMIT_EXCEEDED"
    payload = json.dumps({"error_code": code, "message": str(err)}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
