"""One source for names: the output -> variable mapping against the real stack program, every pipeline and the
generated project's CD, the datastores YAML names, and the docs table. A rename in any one part fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.plan.engine import Plan, run_program
from infra.plan.stack_files import load_stack_config
from pipelines.scripts import stack_variables
from pipelines.scripts.errors import InvalidArgumentError

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "templates" / "mlflow-project" / "{{ cookiecutter.project_slug|slugify }}"
STACKS = ("dev", "staging", "prod")
# Every file a pipeline or a generated project reads variables in: the platform's pipelines and the project's CD.
PIPELINE_FILES = sorted(
    [
        *(REPO / "pipelines" / "azure-pipelines").rglob("*.yml"),
        *(PROJECT / ".azure-pipelines").rglob("*.yml"),
        *(PROJECT / ".github").rglob("*.yml"),
    ]
)
# `$(NAME)` in Azure Pipelines, `vars.NAME` in GitHub Actions: the names that must come from the mapping.
_AZURE_READ = re.compile(r"\$\((AML_[A-Z0-9_]+|MLFLOW_TRACKING_URI)\)")
_GITHUB_READ = re.compile(r"\bvars\.(AML_[A-Z0-9_]+|MLFLOW_TRACKING_URI)\b")
_DATASTORE = re.compile(r"azureml://datastores/([a-z0-9_]+)/")
BUILT_IN_DATASTORES = {"workspaceblobstore"}
"""Datastores every Azure ML workspace has without the stack creating them."""


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    """The committed stacks, each run once under the Pulumi mock engine."""
    return {stack: run_program(stack, load_stack_config(REPO, stack)) for stack in STACKS}


def _reads(pattern: re.Pattern[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PIPELINE_FILES:
        for name in pattern.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_mapped_output_is_one_the_program_exports(plans: dict[str, Plan]) -> None:
    """The real program under the mock engine: a variable written from an output nobody exports would be empty
    in every pipeline (or, with the writer's check, fail each deploy)."""
    for stack, plan in plans.items():
        missing = sorted({v.output for v in stack_variables.MAPPING} - set(plan.outputs))
        assert missing == [], f"{stack}: the mapping reads outputs the program does not export: {missing}"


def test_each_stack_yields_a_value_for_every_variable(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        variables = stack_variables.variables_from_outputs(plan.outputs)
        assert list(variables) == [v.name for v in stack_variables.MAPPING if v.azure_devops]
        assert variables["AML_WORKSPACE"] == plan.outputs["workspaceName"]
        assert variables["AML_DATALAKE_DATASTORES"].split(",") == plan.outputs["dataLakeDatastoreNames"]
        github = stack_variables.variables_from_outputs(plan.outputs, github=True)
        assert github["AML_WORKSPACE"] == variables["AML_WORKSPACE"]
        # Pools are named at compile time (the pools template), never from a variable group.
        assert not any("POOL" in name for name in variables)
        assert "AML_RUNS_ON" not in variables  # GitHub-only: an Azure DevOps job picks its pool, not a runner


@pytest.mark.parametrize(
    ("output", "runs_on"),
    [
        ("", "ubuntu-24.04"),
        ({"group": "mlops-staging"}, {"group": "mlops-staging"}),
        (["self-hosted", "mlops-prod-abc123"], ["self-hosted", "mlops-prod-abc123"]),
    ],
)
def test_runs_on_is_the_hosted_label_the_runner_group_or_the_runner_labels(
    output: object, runs_on: object
) -> None:
    """`runs-on` takes a GitHub-hosted label, a `group:` key naming a runner group, or a list of labels a
    self-hosted runner must all have (https://docs.github.com/en/actions/using-jobs/choosing-the-runner-for-a-job);
    the workflows read the variable with fromJSON, so its text is JSON for one of those forms."""
    outputs = {v.output: "x" for v in stack_variables.MAPPING} | {"dataLakeDatastoreNames": []}
    outputs |= {"githubRunsOn": output, "amlRegistryGithubRunsOn": output}
    github = stack_variables.variables_from_outputs(outputs, github=True)
    assert json.loads(github["AML_RUNS_ON"]) == runs_on == json.loads(github["AML_REGISTRY_RUNS_ON"])


@pytest.mark.parametrize("output", ["mlops-prod", {"group": ""}, {"labels": ["x"]}, [], ["self-hosted", 3]])
def test_a_runs_on_output_of_another_shape_is_refused_naming_it(output: object) -> None:
    outputs = {v.output: "x" for v in stack_variables.MAPPING} | {"dataLakeDatastoreNames": []}
    outputs |= {"githubRunsOn": output, "amlRegistryGithubRunsOn": ""}
    with pytest.raises(InvalidArgumentError, match=r"stack output githubRunsOn = .*a list of runner labels"):
        stack_variables.variables_from_outputs(outputs, github=True)


def test_committed_stacks_run_github_jobs_where_their_outputs_say(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        github = stack_variables.variables_from_outputs(plan.outputs, github=True)
        for variable, output in (
            ("AML_RUNS_ON", "githubRunsOn"),
            ("AML_REGISTRY_RUNS_ON", "amlRegistryGithubRunsOn"),
        ):
            value = plan.outputs[output]
            assert json.loads(github[variable]) == (value or "ubuntu-24.04"), stack


def test_every_variable_a_pipeline_reads_is_written_by_the_mapping() -> None:
    azure, github = _reads(_AZURE_READ), _reads(_GITHUB_READ)
    assert azure and github, "the scan found nothing: the patterns or the file list are wrong"
    unknown = {name: files for name, files in azure.items() if name not in stack_variables.BY_NAME}
    assert unknown == {}, (
        f"read but never written by infra.yml (add them to stack_variables.MAPPING): {unknown}"
    )
    not_on_github = {
        name: files
        for name, files in github.items()
        if name not in stack_variables.BY_NAME or not stack_variables.BY_NAME[name].github
    }
    assert {"AML_RUNS_ON", "AML_REGISTRY_RUNS_ON"} <= set(github), (
        "the GitHub jobs no longer pick their runner"
    )
    not_on_azure = {
        name: files for name, files in azure.items() if not stack_variables.BY_NAME[name].azure_devops
    }
    assert not_on_azure == {}, f"Azure Pipelines read variables no variable group gets: {not_on_azure}"
    assert not_on_github == {}, f"GitHub workflows read variables no GitHub environment gets: {not_on_github}"


def test_no_compile_time_expression_reads_a_stack_variable() -> None:
    """Variable groups reach a pipeline at run time: a `${{ variables.AML_X }}` is empty when the template is
    compiled, so a pool or a condition built on it would silently take the wrong branch. Read them with macros.
    https://learn.microsoft.com/azure/devops/pipelines/library/variable-groups
    https://learn.microsoft.com/azure/devops/pipelines/process/variables
    """
    compile_time = re.compile(r"\$\{\{[^}]*\b(AML_[A-Z0-9_]+)")
    offenders = [
        f"{path.relative_to(REPO)}: {match.group(0)}"
        for path in PIPELINE_FILES
        if ".github" not in path.parts  # GitHub's ${{ vars.X }} is evaluated at run time: allowed
        for match in compile_time.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_datastore_the_yaml_names_is_one_every_stack_creates(plans: dict[str, Plan]) -> None:
    texts = [
        *PIPELINE_FILES,
        *(REPO / "pipelines" / "scripts").glob("*.py"),
        *(PROJECT / "aml").rglob("*.yml"),
        REPO / "templates" / "mlflow-project" / "cookiecutter.json",
    ]
    named = {
        name: str(path.relative_to(REPO))
        for path in texts
        for name in _DATASTORE.findall(path.read_text(encoding="utf-8"))
    }
    assert "datalake_curated" in named, "the scan found no datastore: the pattern or the file list are wrong"
    for stack, plan in plans.items():
        created = set(plan.outputs["dataLakeDatastoreNames"]) | BUILT_IN_DATASTORES
        assert {name: where for name, where in named.items() if name not in created} == {}, stack


def test_the_readme_table_is_the_mapping() -> None:
    readme = (REPO / "pipelines" / "README.md").read_text(encoding="utf-8")
    assert stack_variables.markdown_table() in readme
    listed = set(re.findall(r"^\| `([A-Z0-9_]+)` \| `[a-zA-Z]+`", readme, flags=re.MULTILINE))
    assert listed == set(stack_variables.BY_NAME), (
        "pipelines/README.md lists variables the mapping does not write"
    )


def test_a_missing_output_names_the_variables_that_need_it() -> None:
    outputs = {v.output: "x" for v in stack_variables.MAPPING} | {"dataLakeDatastoreNames": ["datalake_raw"]}
    del outputs["amlRegistryGithubRunsOn"]
    with pytest.raises(
        InvalidArgumentError,
        match=r"outputs amlRegistryGithubRunsOn are missing \(needed by AML_REGISTRY_RUNS_ON\)",
    ):
        stack_variables.variables_from_outputs(outputs)


def test_a_secret_output_never_becomes_a_variable() -> None:
    outputs = {v.output: "x" for v in stack_variables.MAPPING} | {"dataLakeDatastoreNames": []}
    outputs["mlflowTrackingUri"] = "[secret]"
    with pytest.raises(InvalidArgumentError, match="mlflowTrackingUri is a secret"):
        stack_variables.variables_from_outputs(outputs)


def test_the_readme_names_exactly_the_outputs_the_program_exports(plans: dict[str, Plan]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Stack outputs", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([a-z][A-Za-z]+)`", row)}
    assert {"workspaceName", "amlRegistryName"} <= named, "the scan found no output: the table moved?"
    exported = set.intersection(*(set(plan.outputs) for plan in plans.values()))
    assert sorted(named - exported) == [], "README.md's 'Stack outputs' names outputs no stack exports"
    assert sorted(exported - named) == [], (
        "README.md's 'Stack outputs' leaves out outputs every stack exports"
    )
