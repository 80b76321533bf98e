"""Governance tags on registered model versions: where a version came from, and who let it through.

    python -m {{ cookiecutter.package_name }}.governance history [--model-name {{ cookiecutter.project_slug }}]

Every version carries the PROVENANCE tags from the moment `register` creates it (git commit, pipeline run,
training job, data version); CD overwrites the first three with what the pipeline knows for certain, and
`promote` adds APPROVED_BY/APPROVED_AT once the promotion is approved. A version retrained because a model
monitor breached its thresholds also carries TRIGGERING_EVENT, the ID of the Event Grid event that queued the
retraining: the same ID keys the platform's audit record of that breach. `history` answers "who deployed what,
when and why" from the registry alone: the tags, the gate metrics (`gate.*`) and the replaced champion.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.settings import MODEL_NAME

GIT_COMMIT = "governance.git_commit"
PIPELINE_RUN = "governance.pipeline_run"
TRAINING_JOB = "governance.training_job"
DATA_VERSION = "governance.data_version"
APPROVED_BY = "governance.approved_by"
APPROVED_AT = "governance.approved_at"
TRIGGERING_EVENT = "governance.triggering_event"
REFERENCE_DATA = "governance.reference_data"
PROVENANCE = (GIT_COMMIT, PIPELINE_RUN, TRAINING_JOB, DATA_VERSION)

NOT_RECORDED = "not recorded"
"""The value of a provenance tag nobody could know (e.g. the git commit of a run outside a git checkout)."""
NO_EVENT = "none"
"""aml/pipeline.yml's default `triggering_event_id`: the run was started by a push or by hand, not by an event."""

# Set on the run by `mlflow run` from a git checkout and by Azure ML for jobs submitted from one.
_MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"


@dataclass(frozen=True)
class Provenance:
    """Where a model version came from."""

    git_commit: str
    pipeline_run: str
    training_job: str
    data_version: str

    def tags(self) -> dict[str, str]:
        return dict(
            zip(
                PROVENANCE,
                (self.git_commit, self.pipeline_run, self.training_job, self.data_version),
                strict=True,
            )
        )


def pipeline_run_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The CI run this process belongs to, from the variables Azure Pipelines and GitHub Actions set.

    >>> pipeline_run_url({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"})
    'https://github.com/o/r/actions/runs/7'
    >>> pipeline_run_url({"SYSTEM_COLLECTIONURI": "https://dev.azure.com/org/", "SYSTEM_TEAMPROJECT": "ml", "BUILD_BUILDID": "42"})
    'https://dev.azure.com/org/ml/_build/results?buildId=42'
    >>> pipeline_run_url({}) is None
    True
    """
    env = os.environ if environ is None else environ
    if env.get("BUILD_BUILDID") and env.get("SYSTEM_COLLECTIONURI"):
        project = env.get("SYSTEM_TEAMPROJECT", "")
        return f"{env['SYSTEM_COLLECTIONURI']}{project}/_build/results?buildId={env['BUILD_BUILDID']}"
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return None


def data_version(run: Run) -> str:
    """`<dataset name>@<digest>` of the training input the run logged: the content hash MLflow computed."""
    for dataset_input in run.inputs.dataset_inputs:
        if any(tag.key == "mlflow.data.context" and tag.value == "training" for tag in dataset_input.tags):
            return f"{dataset_input.dataset.name}@{dataset_input.dataset.digest}"
    return NOT_RECORDED


def provenance_of(run: Run, environ: Mapping[str, str] | None = None) -> Provenance:
    """What the training run itself can tell: its commit, its CI run (if any), its id and its data."""
    return Provenance(
        git_commit=run.data.tags.get(_MLFLOW_GIT_COMMIT, NOT_RECORDED),
        pipeline_run=pipeline_run_url(environ) or NOT_RECORDED,
        training_job=run.info.run_id,
        data_version=data_version(run),
    )


def set_tags(client: MlflowClient, name: str, version: str, tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def triggering_event_tags(event_id: str) -> dict[str, str]:
    """TRIGGERING_EVENT, or nothing for a run no event started.

    >>> triggering_event_tags("0b2f8c1e-3f5a-4c2d-9e7f-1a2b3c4d5e6f")
    {'governance.triggering_event': '0b2f8c1e-3f5a-4c2d-9e7f-1a2b3c4d5e6f'}
    >>> triggering_event_tags("none"), triggering_event_tags("")
    ({}, {})
    """
    event_id = event_id.strip()
    return {TRIGGERING_EVENT: event_id} if event_id and event_id != NO_EVENT else {}


def approval_tags(approver: str, when: datetime | None = None) -> dict[str, str]:
    """APPROVED_BY/APPROVED_AT; `when` defaults to now, in UTC, to the second.

    >>> approval_tags("ana@contoso.com", datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    {'governance.approved_by': 'ana@contoso.com', 'governance.approved_at': '2026-11-02T09:30:00+00:00'}
    """
    moment = (when or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return {APPROVED_BY: approver, APPROVED_AT: moment.isoformat()}


@dataclass(frozen=True)
class HistoryRow:
    """One registered version and its governance record."""

    version: str
    created: str
    tags: Mapping[str, str]

    def line(self) -> str:
        gate = ", ".join(
            f"{key[5:]}={value}" for key, value in sorted(self.tags.items()) if key.startswith("gate.")
        )
        fields = [
            f"v{self.version}",
            f"registered {self.created}",
            f"approved by {self.tags.get(APPROVED_BY, '-')} at {self.tags.get(APPROVED_AT, '-')}",
            f"commit {self.tags.get(GIT_COMMIT, '-')}",
            f"run {self.tags.get(PIPELINE_RUN, '-')}",
            f"job {self.tags.get(TRAINING_JOB, '-')}",
            f"data {self.tags.get(DATA_VERSION, '-')}",
            f"gate {gate or '-'}",
        ]
        if TRIGGERING_EVENT in self.tags:
            fields.append(f"retrained for event {self.tags[TRIGGERING_EVENT]}")
        if "replaced_champion" in self.tags:
            fields.append(f"replaced v{self.tags['replaced_champion']}")
        return " | ".join(fields)


def history(client: MlflowClient, model_name: str, *, approved_only: bool = False) -> list[HistoryRow]:
    """Every version of `model_name`, newest first, with its governance tags."""
    versions: list[ModelVersion] = client.search_model_versions(f"name = '{model_name}'")
    rows = [
        HistoryRow(
            str(version.version),
            datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(timespec="seconds"),
            dict(version.tags),
        )
        for version in versions
        # Filtered here, not in the query: tag predicates differ between MLflow stores and Azure ML.
        if not approved_only or APPROVED_BY in version.tags
    ]
    return sorted(rows, key=lambda row: int(row.version), reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("history", help="every version with who approved it, when, and its provenance")
    show.add_argument("--model-name", default=MODEL_NAME)
    show.add_argument("--approved-only", action="store_true", help="only versions approved for promotion")
    args = parser.parse_args(argv)

    def step() -> int:
        for row in history(MlflowClient(), args.model_name, approved_only=args.approved_only):
            print(row.line())
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
