"""What the tracking server knows, read over MLflow's REST API: versions, aliases and this run's runs.

Plain HTTP keeps the demo process light (no MLflow import) and reads exactly what the UI shows.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from local_e2e.errors import DemoError


@dataclass(frozen=True)
class VersionInfo:
    version: str
    run_id: str
    aliases: tuple[str, ...]
    replaced_champion: str | None


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    name: str
    status: str
    url: str


class TrackingApi:
    """A few read-only calls of MLflow's REST API 2.0 against one tracking server."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, **query: str) -> dict[str, Any] | None:
        """The JSON answer, or None when the resource does not exist (404 / RESOURCE_DOES_NOT_EXIST)."""
        address = f"{self.url}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(query)}"
        try:
            with urllib.request.urlopen(address, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            body = err.read().decode(errors="replace")
            if err.code == 404 or "RESOURCE_DOES_NOT_EXIST" in body:
                return None
            msg = f"MLflow server {self.url}: GET {path} answered {err.code}: {body[:300]}"
            raise DemoError(msg) from err

    def champion(self, model: str, alias: str = "champion") -> str | None:
        """The version `alias` points at, or None when the model or the alias does not exist yet."""
        answer = self._get("registered-models/alias", name=model, alias=alias)
        return None if answer is None else str(answer["model_version"]["version"])

    def versions(self, model: str) -> list[VersionInfo]:
        """Every version of `model`, oldest first, with its aliases."""
        answer = self._get("model-versions/search", filter=f"name='{model}'", max_results="200") or {}
        versions = []
        for raw in answer.get("model_versions", []):
            tags = {tag["key"]: tag["value"] for tag in raw.get("tags", [])}
            versions.append(
                VersionInfo(
                    version=str(raw["version"]),
                    run_id=raw.get("run_id", ""),
                    aliases=tuple(raw.get("aliases", [])),
                    replaced_champion=tags.get("replaced_champion"),
                )
            )
        # search_model_versions does not fill aliases on every store: take them from the model itself.
        model_answer = self._get("registered-models/get", name=model) or {}
        by_version: dict[str, list[str]] = {}
        for alias in model_answer.get("registered_model", {}).get("aliases", []):
            by_version.setdefault(str(alias["version"]), []).append(alias["alias"])
        return sorted(
            (
                VersionInfo(
                    v.version, v.run_id, tuple(sorted(by_version.get(v.version, []))), v.replaced_champion
                )
                for v in versions
            ),
            key=lambda v: int(v.version),
        )

    def runs_since(self, experiment: str, start_ms: int) -> list[RunInfo]:
        """Top-level runs of `experiment` started at or after `start_ms` (epoch milliseconds)."""
        found = self._get("experiments/get-by-name", experiment_name=experiment)
        if found is None:
            return []
        experiment_id = found["experiment"]["experiment_id"]
        request = urllib.request.Request(
            f"{self.url}/api/2.0/mlflow/runs/search",
            data=json.dumps(
                {
                    "experiment_ids": [experiment_id],
                    "filter": f"attributes.start_time >= {start_ms}",
                    "order_by": ["attributes.start_time ASC"],
                    "max_results": 100,
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            answer = json.loads(response.read())
        runs = []
        for raw in answer.get("runs", []):
            tags = {tag["key"]: tag["value"] for tag in raw["data"].get("tags", [])}
            if "mlflow.parentRunId" in tags:
                continue  # nested runs (the evaluation's candidate/champion scoring) live under their parent
            info = raw["info"]
            runs.append(
                RunInfo(
                    run_id=info["run_id"],
                    name=info.get("run_name", ""),
                    status=info["status"],
                    url=f"{self.url}/#/experiments/{experiment_id}/runs/{info['run_id']}",
                )
            )
        return runs
