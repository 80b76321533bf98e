"""Write one stack's outputs into its Azure DevOps variable group and, optionally, its GitHub environment.

Runs in infra.yml right after the stack's `pulumi up`, with `pulumi stack output --json` saved to a file. The
variables and their values come from `stack_variables.MAPPING` only. Idempotent: a variable whose value did not
change is not written, and a run that changes nothing sends no write at all. Variables of the group that the
mapping does not own (added by hand, secrets) are kept as they are.

    python -m pipelines.scripts.publish_stack_variables --stack dev --outputs outputs.json \
        [--azure-devops-group mlops-aml-dev] [--github-repository owner/repo [--github-environment dev ...]]

Azure DevOps: REST with the job's `System.AccessToken` (env SYSTEM_ACCESSTOKEN, SYSTEM_COLLECTIONURI,
SYSTEM_TEAMPROJECTID); the project's build service needs the Administrator role on the group (or on the Library,
to create it). GitHub: REST with a token in GITHUB_VARIABLES_TOKEN that may write environment variables.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pipelines.scripts import cli, exit_codes, stack_variables
from pipelines.scripts.errors import DeploymentError, InvalidArgumentError

logger = logging.getLogger(__name__)

ADO_API_VERSION = "7.1"
GITHUB_API = "https://api.github.com"
_STACK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")


class Http(Protocol):
    """The one call the stores make: a JSON request, answered with the status and the JSON body (or None)."""

    def send(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]: ...


class UrllibHttp:
    """`Http` over the standard library, with a bearer token."""

    def __init__(self, token: str, headers: Mapping[str, str] | None = None) -> None:
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}

    def send(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self._headers, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as err:
            text = err.read().decode(errors="replace")
            return err.code, {"message": text}


def _checked(status: int, body: Any, what: str, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
    if status not in ok:
        msg = f"{what}: HTTP {status}: {body}"
        raise DeploymentError(msg)
    return body


class AzureDevOpsGroup:
    """The variable group `name` of one Azure DevOps project (Variablegroups REST API, 7.1)."""

    def __init__(self, http: Http, *, collection_uri: str, project_id: str, name: str) -> None:
        self._http = http
        self._org = collection_uri.rstrip("/") + "/"
        self._project_id = project_id
        self.name = name
        self._group: dict[str, Any] | None = None

    def _url(self, path: str, **query: str) -> str:
        return f"{self._org}{path}?" + urllib.parse.urlencode({**query, "api-version": ADO_API_VERSION})

    def current(self) -> dict[str, str]:
        url = self._url(f"{self._project_id}/_apis/distributedtask/variablegroups", groupName=self.name)
        body = _checked(*self._http.send("GET", url), f"look up variable group {self.name}")
        groups = [g for g in (body or {}).get("value", []) if g.get("name") == self.name]
        self._group = groups[0] if groups else None
        variables = (self._group or {}).get("variables") or {}
        return {key: str(v.get("value") or "") for key, v in variables.items() if not v.get("isSecret")}

    def apply(self, changes: Mapping[str, str], deletions: set[str]) -> None:
        # The group is replaced as a whole: keep what the mapping does not own (secrets come back without a
        # value, which leaves them unchanged), and the project reference the API requires.
        group = self._group
        variables = dict((group or {}).get("variables") or {})
        for key in deletions:
            variables.pop(key, None)
        variables.update({key: {"value": value, "isSecret": False} for key, value in changes.items()})
        body = {
            "name": self.name,
            "type": "Vsts",
            "description": "Stack outputs, written by infra.yml (pipelines/scripts/stack_variables.py)",
            "variables": variables,
            "variableGroupProjectReferences": (group or {}).get("variableGroupProjectReferences")
            or [{"name": self.name, "projectReference": {"id": self._project_id}}],
        }
        if group is None:
            url = self._url("_apis/distributedtask/variablegroups")
            _checked(*self._http.send("POST", url, body), f"create variable group {self.name}")
        else:
            url = self._url(f"_apis/distributedtask/variablegroups/{group['id']}")
            _checked(*self._http.send("PUT", url, body), f"update variable group {self.name}")


class GitHubEnvironment:
    """The variables of one GitHub environment (REST API: /repos/{owner}/{repo}/environments/{env}/variables)."""

    def __init__(self, http: Http, *, repository: str, environment: str) -> None:
        self._http = http
        self._base = (
            f"{GITHUB_API}/repos/{repository}/environments/{urllib.parse.quote(environment)}/variables"
        )
        self.name = f"{repository} environment {environment}"

    def current(self) -> dict[str, str]:
        found: dict[str, str] = {}
        page = 1
        while True:
            status, body = self._http.send("GET", f"{self._base}?per_page=30&page={page}")
            if status == 404:
                msg = (
                    f"{self.name} does not exist: create it (Settings > Environments) before the first deploy"
                )
                raise DeploymentError(msg)
            variables = _checked(status, body, f"list variables of {self.name}").get("variables", [])
            found.update({v["name"]: v["value"] for v in variables})
            if len(variables) < 30:
                return found
            page += 1

    def apply(self, changes: Mapping[str, str], deletions: set[str], existing: set[str]) -> None:
        for name in sorted(deletions):
            _checked(*self._http.send("DELETE", f"{self._base}/{name}"), f"delete {name} in {self.name}")
        for name, value in sorted(changes.items()):
            if name in existing:
                body = {"name": name, "value": value}
                _checked(
                    *self._http.send("PATCH", f"{self._base}/{name}", body), f"update {name} in {self.name}"
                )
            else:
                body = {"name": name, "value": value}
                _checked(*self._http.send("POST", self._base, body), f"create {name} in {self.name}")


def plan(
    current: Mapping[str, str], wanted: Mapping[str, str], *, empty_deletes: bool
) -> tuple[dict[str, str], set[str]]:
    """What to write and what to delete so that `current` holds `wanted`; nothing when they agree.

    `empty_deletes`: the store cannot hold an empty value (GitHub), so an empty variable is removed instead.
    """
    deletions = {k for k, v in wanted.items() if empty_deletes and v == "" and k in current}
    changes = {k: v for k, v in wanted.items() if current.get(k) != v and not (empty_deletes and v == "")}
    return changes, deletions


def publish_azure_devops(group: AzureDevOpsGroup, wanted: Mapping[str, str]) -> list[str]:
    """Bring the group's mapped variables to `wanted`; return the names written."""
    changes, deletions = plan(group.current(), wanted, empty_deletes=False)
    if changes or deletions:
        group.apply(changes, deletions)
    return sorted(changes)


def publish_github(environment: GitHubEnvironment, wanted: Mapping[str, str]) -> list[str]:
    """Bring the environment's mapped variables to `wanted`; return the names written or deleted."""
    current = environment.current()
    changes, deletions = plan(current, wanted, empty_deletes=True)
    environment.apply(changes, deletions, set(current))
    return sorted(changes.keys() | deletions)


def _stack(value: str) -> str:
    if not _STACK_RE.fullmatch(value):
        msg = f"{value!r} is not a stack name (letters, digits, '.', '_', '-')"
        raise argparse.ArgumentTypeError(msg)
    return value


def _repository(value: str) -> str:
    if not _REPOSITORY_RE.fullmatch(value):
        msg = f"{value!r} must look like owner/repository"
        raise argparse.ArgumentTypeError(msg)
    return value


def load_outputs(path: Path) -> dict[str, object]:
    """`pulumi stack output --json` as saved by the deploy step."""
    try:
        outputs = json.loads(cli.read_text(path, "--outputs"))
    except json.JSONDecodeError as err:
        msg = f"--outputs {path}: not JSON ({err})"
        raise InvalidArgumentError(msg) from err
    if not isinstance(outputs, dict):
        msg = f"--outputs {path}: expected a JSON object of stack outputs"
        raise InvalidArgumentError(msg)
    return outputs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, type=_stack)
    parser.add_argument("--outputs", required=True, type=cli.existing_file, help="pulumi stack output --json")
    parser.add_argument(
        "--azure-devops-group", default="", help="default: mlops-aml-<stack>; 'none' skips it"
    )
    parser.add_argument("--github-repository", type=_repository, default=None)
    parser.add_argument(
        "--github-environment", action="append", default=[], help="repeatable; default: the stack's name"
    )
    return parser


def _environ(name: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name, "")
    if not value or value.startswith("$("):
        msg = f"environment variable {name} is not set: map it in the step's env:"
        raise InvalidArgumentError(msg)
    return value


def main(
    argv: Sequence[str] | None = None, http: Http | None = None, environ: Mapping[str, str] | None = None
) -> int:
    args = build_parser().parse_args(argv)
    env = os.environ if environ is None else environ
    outputs = load_outputs(args.outputs)
    if args.azure_devops_group != "none":
        group = AzureDevOpsGroup(
            http or UrllibHttp(_environ("SYSTEM_ACCESSTOKEN", env)),
            collection_uri=_environ("SYSTEM_COLLECTIONURI", env),
            project_id=_environ("SYSTEM_TEAMPROJECTID", env),
            name=args.azure_devops_group or stack_variables.group_name(args.stack),
        )
        written = publish_azure_devops(group, stack_variables.variables_from_outputs(outputs))
        logger.info("Variable group %s: %s", group.name, ", ".join(written) or "unchanged")
    if args.github_repository:
        github_http = http or UrllibHttp(
            _environ("GITHUB_VARIABLES_TOKEN", env),
            {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
        )
        wanted = stack_variables.variables_from_outputs(outputs, github=True)
        for name in args.github_environment or [args.stack]:
            environment = GitHubEnvironment(github_http, repository=args.github_repository, environment=name)
            written = publish_github(environment, wanted)
            logger.info("%s: %s", environment.name, ", ".join(written) or "unchanged")
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
