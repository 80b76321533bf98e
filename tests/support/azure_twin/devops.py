"""Azure DevOps Library variable groups and GitHub environment variables, as their REST APIs answer: what the
infra pipeline writes after each deploy and the pipelines read. Served to scripts through `urllib.request.urlopen`
(the HTTP boundary the scripts use); any other URL gets what an offline agent gets, a connection error."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from typing import Any

from .model import AzureTwin

GITHUB_ENVIRONMENTS = ("dev", "promotion", "staging", "prod")
"""The environments the generated project's README has people create by hand."""
_ADO_LIST = re.compile(r"^https://[^?]+/[^/?]+/_apis/distributedtask/variablegroups\?(?P<query>.*)$")
_ADO_WRITE = re.compile(r"^https://[^?]+/_apis/distributedtask/variablegroups(?:/(?P<id>\d+))?\?")
_GITHUB = re.compile(
    r"^https://api\.github\.com/repos/[^/]+/[^/]+/environments/(?P<env>[^/]+)/variables(?:/(?P<name>[^/?]+))?"
)


class _Response(io.BytesIO):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(json.dumps(body).encode() if body is not None else b"")
        self.status = status

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _error(url: str, status: int, message: str) -> urllib.error.HTTPError:
    return urllib.error.HTTPError(
        url, status, message, Message(), io.BytesIO(json.dumps({"message": message}).encode())
    )


def urlopen(
    twin: AzureTwin, request: urllib.request.Request | str, timeout: float | None = None
) -> _Response:
    """`urllib.request.urlopen` answered from the twin's Library and GitHub environments."""
    url = request if isinstance(request, str) else request.full_url
    method = "GET" if isinstance(request, str) else request.get_method()
    data = None if isinstance(request, str) or request.data is None else json.loads(request.data)  # type: ignore[arg-type]
    if method == "GET" and (match := _ADO_LIST.match(url)):
        wanted = urllib.parse.parse_qs(match["query"]).get("groupName", [""])[0]
        groups = [g for g in twin.variable_groups.values() if g["name"] == wanted]
        return _Response(200, {"count": len(groups), "value": groups})
    if (match := _ADO_WRITE.match(url)) and method in ("POST", "PUT"):
        ids = {g["id"] for g in twin.variable_groups.values()}
        group_id = int(match["id"]) if match["id"] else max(ids, default=0) + 1
        if method == "PUT" and group_id not in ids:
            raise _error(url, 404, f"Variable group {group_id} not found")
        twin.variable_groups[data["name"]] = {**data, "id": group_id}
        return _Response(200, twin.variable_groups[data["name"]])
    if match := _GITHUB.match(url):
        if match["env"] not in GITHUB_ENVIRONMENTS:
            raise _error(url, 404, "Not Found")
        variables = twin.github_environments.setdefault(match["env"], {})
        if method == "GET":
            return _Response(
                200,
                {
                    "total_count": len(variables),
                    "variables": [{"name": k, "value": v} for k, v in variables.items()],
                },
            )
        if method == "DELETE":
            variables.pop(str(match["name"]), None)
        else:
            variables[data["name"]] = data["value"]
        return _Response(201 if method == "POST" else 204, None)
    raise urllib.error.URLError(f"the Azure twin has no network: {method} {url}")
