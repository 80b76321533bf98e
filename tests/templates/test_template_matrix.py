"""Generate a matrix that covers every answer value; check each project's files, specs and pipelines.

Not the full product of the options: each value appears at least once, and the combinations that
change the same files (CI provider, deployment, data source) are spread over the cases.
"""

from __future__ import annotations

import importlib
import logging
import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config

from tests.templates.generation import (
    REPO,
    TEMPLATE,
    VENV_BIN,
    generate,
    leftover_jinja,
    run_tool,
    template_answers,
)

# azure-ai-ml's loaders warn about their own marshmallow usage and experimental classes: not findings.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:This class is intended as a base class:UserWarning"),
]

MATRIX: dict[str, dict[str, str]] = {
    "defaults": {},
    "classification-github-batch": {
        "project_name": "Tumour Diagnosis",
        "task": "classification",
        "python_version": "3.12",
        "ci_provider": "github-actions",
        "deployment": "batch",
        "databricks_job": "yes",
        "data_source": "azureml://datastores/datalake_raw/paths/cancer/2026/diagnoses.parquet",
        "endpoint_name": "tumour-dx",
    },
    "regression-no-ci-both": {
        "project_name": "Glucose Forecast",
        "package_name": "glucose",
        "python_version": "3.12",
        "ci_provider": "none",
        "deployment": "both",
        "data_source": "azureml://datastores/datalake_curated/paths/diabetes/",
    },
    "classification-azure-both": {
        "project_name": "Cancer Screening",
        "task": "classification",
        "deployment": "both",
    },
    "pytorch-gpu-both": {
        "project_name": "Digit Reader",
        "task": "classification",
        "framework": "pytorch",
        "online_compute": "gpu",
        "deployment": "both",
    },
}

SPEC_LOADERS = {
    "aml/environment.yml": ("load_environment", "Environment"),
    "aml/pipeline.yml": ("load_job", "PipelineJob"),
    "aml/promote.yml": ("load_job", "Command"),
}
ONLINE_SPECS = {
    "aml/online/endpoint.yml": ("load_online_endpoint", "ManagedOnlineEndpoint"),
    "aml/online/blue.yml": ("load_online_deployment", "ManagedOnlineDeployment"),
    "aml/online/green.yml": ("load_online_deployment", "ManagedOnlineDeployment"),
    "aml/monitoring.yml": ("load_schedule", "MonitorSchedule"),
}
# azure.ai.ml does not re-export load_schedule; the generated aml_specs imports it from the same module.
LOADER_MODULES = {"load_schedule": "azure.ai.ml.entities._load_functions"}
BATCH_SPECS = {
    "aml/batch/endpoint.yml": ("load_batch_endpoint", "BatchEndpoint"),
    "aml/batch/deployment.yml": ("load_batch_deployment", "BatchDeployment"),
}
AZURE_PIPELINES_SCHEMA = ("--builtin-schema", "vendor.azure-pipelines", "--data-transform", "azure-pipelines",
                          "--regex-variant", "nonunicode")  # fmt: skip
GITHUB_WORKFLOWS_SCHEMA = ("--builtin-schema", "vendor.github-workflows", "--regex-variant", "nonunicode")
STEP_MODULES = (
    "prep",
    "evaluate",
    "register",
    "pipeline",
    "payload",
    "score_batch",
    "serve",
    "promote",
)


def answers_of(case: str) -> dict[str, str]:
    """The case's answers, defaults rendered by cookiecutter itself (as the hooks see them)."""
    context = generate_context(context_file=str(TEMPLATE / "cookiecutter.json"), extra_context=MATRIX[case])
    rendered = prompt_for_config(context, no_input=True)
    return {key: value for key, value in rendered.items() if not key.startswith("_")}


@pytest.fixture(scope="module", params=list(MATRIX))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    return request.param, generate(tmp_path_factory.mktemp(request.param), **MATRIX[request.param])


def expected_specs(answers: dict[str, str]) -> dict[str, tuple[str, str]]:
    specs = dict(SPEC_LOADERS)
    if answers["deployment"] in ("online", "both"):
        specs |= ONLINE_SPECS
    if answers["deployment"] in ("batch", "both"):
        specs |= BATCH_SPECS
    return specs


def test_the_matrix_covers_every_answer_value() -> None:
    for field, values in template_answers().items():
        if isinstance(values, list) and not field.startswith("_"):
            covered = {answers_of(case)[field] for case in MATRIX}
            assert covered == set(values), f"{field}: no case for {set(values) - covered}"
    sources = {answers_of(case)["data_source"] for case in MATRIX}
    assert "sample" in sources
    assert any(source.endswith("/") for source in sources), "no datastore folder case"
    assert any(source.startswith("azureml://") and not source.endswith("/") for source in sources)


def test_selected_parts_are_present_and_the_others_pruned(case: tuple[str, Path]) -> None:
    name, project = case
    answers = answers_of(name)
    package = project / "src" / answers["package_name"]
    pytorch = answers["framework"] == "pytorch"
    trainers = {
        "train.py": not pytorch,
        "tune.py": not pytorch,
        "sweep_trial.py": not pytorch,
        "torch_train.py": pytorch,
        "torch_model.py": pytorch,
    }
    assert {name: (package / name).is_file() for name in trainers} == trainers
    for module in (
        *STEP_MODULES,
        "aml_specs",
        "data",
        "schema",
        "gate",
        "tracking",
        "validated_model",
        "request_guard",
        "spark_prep",
        "batch_driver",
    ):
        assert (package / f"{module}.py").is_file(), module
    root_files = (
        "README.md",
        "pyproject.toml",
        "Makefile",
        "MLproject",
        "python_env.yaml",
        ".pre-commit-config.yaml",
    )
    for path in (*root_files, "aml/conda.yml", f"src/{answers['package_name']}/gate.toml"):
        assert (project / path).is_file(), path
    assert (project / "tests" / "test_train.py").is_file() != pytorch
    assert (project / "tests" / "test_torch_ddp.py").is_file() == pytorch
    assert (project / "tests" / "test_aml_sweep.py").is_file() != pytorch
    assert (project / "tests" / "test_aml_batch.py").is_file() == (answers["deployment"] in ("batch", "both"))
    for test in (
        "test_data",
        "test_gate",
        "test_payload",
        "test_aml_specs",
        "test_scoring_boundary",
    ):
        assert (project / "tests" / f"{test}.py").is_file(), test
    assert {p.relative_to(project).as_posix() for p in (project / "aml").rglob("*.yml")} - {
        "aml/conda.yml"
    } == set(expected_specs(answers))
    ci = answers["ci_provider"]
    assert (project / ".azure-pipelines" / "pr.yml").is_file() == (ci == "azure-pipelines")
    assert (project / ".github" / "workflows" / "pr.yml").is_file() == (ci == "github-actions")
    assert not (project / ".github").exists() or ci == "github-actions"
    assert not (project / ".azure-pipelines").exists() or ci == "azure-pipelines"
    # The Databricks bundle and entry points exist only with databricks_job=yes (tests/templates/test_databricks_job.py).
    assert (project / "databricks" / "databricks.yml").is_file() == (answers["databricks_job"] == "yes")


def test_no_jinja_is_left_behind(case: tuple[str, Path]) -> None:
    assert leftover_jinja(case[1]) == []


def test_pipeline_expressions_survive_rendering(case: tuple[str, Path]) -> None:
    name, project = case
    pipeline = (project / "aml" / "pipeline.yml").read_text()
    assert "${{parent.jobs.prep.outputs.prepared}}" in pipeline
    assert "--source ${{inputs.source}}" in pipeline
    if answers_of(name)["ci_provider"] == "github-actions":
        assert (
            "${{ github.workflow }}-${{ github.ref }}" in (project / ".github/workflows/pr.yml").read_text()
        )


def test_the_data_source_is_the_training_pipeline_input(case: tuple[str, Path]) -> None:
    name, project = case
    source = answers_of(name)["data_source"]
    pipeline_input = yaml.safe_load((project / "aml" / "pipeline.yml").read_text())["inputs"]["source"]
    if source == "sample":
        assert pipeline_input == "sample"
    else:
        expected_type = "uri_folder" if source.endswith("/") else "uri_file"
        assert pipeline_input == {"type": expected_type, "path": source, "mode": "ro_mount"}


def test_a_sample_projects_data_contract_checks_and_an_own_data_project_asks_for_one(
    case: tuple[str, Path],
) -> None:
    """Each bundled sample is a contract that loads and accepts its sample; own data starts without one."""
    name, project = case
    answers = answers_of(name)
    result = run_tool(VENV_BIN / "python", "-m", f"{answers['package_name']}.contract", "check", cwd=project,
                      env={"PYTHONPATH": str(project / "src"), "PATH": str(VENV_BIN)})  # fmt: skip
    if answers["data_source"] == "sample":
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"valid ({answers['task']}" in result.stdout
    else:
        assert result.returncode == 1 and result.stderr.startswith("ERROR: data contract "), result.stderr
        assert "make contract-infer" in result.stderr and "Traceback" not in result.stderr


def test_every_aml_spec_loads_with_its_matching_loader(case: tuple[str, Path]) -> None:
    name, project = case
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    for relative, (loader, entity_type) in expected_specs(answers_of(name)).items():
        module = importlib.import_module(LOADER_MODULES.get(loader, "azure.ai.ml"))
        entity = getattr(module, loader)(source=project / relative)
        assert type(entity).__name__ == entity_type, relative


def test_the_projects_own_spec_check_passes(case: tuple[str, Path]) -> None:
    """The generated validator also checks what the loaders miss: `code:` paths and `${{ }}` references."""
    name, project = case
    package = answers_of(name)["package_name"]
    result = run_tool(VENV_BIN / "python", "-m", f"{package}.aml_specs", "aml", cwd=project,
                      env={"PYTHONPATH": str(project / "src"), "PATH": str(VENV_BIN)})  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok  ") == len(expected_specs(answers_of(name)))


def test_ci_pipelines_validate_against_their_schemas(case: tuple[str, Path]) -> None:
    """Microsoft's Azure Pipelines schema and the GitHub workflow schema, as bundled in check-jsonschema.

    Azure Pipelines: the schema's known false positives (YAML ints/bools where it says string,
    whole-string `${{ }}`/`$( )` values in typed task inputs, input aliases, `ignoreCase`, `pattern`
    on templated ids) are avoided by construction in pr.yml (versions quoted, no aliases), so any
    error fails the test; nothing is filtered. Both schemas run with `--regex-variant nonunicode`:
    with its default engine check-jsonschema 0.39 crashes ("Invalid character escape") on patterns
    in both bundled schemas instead of validating; the negative control below proves the variant
    still rejects a broken pipeline.
    """
    project = case[1]
    for workflow, schema in ((".azure-pipelines/pr.yml", AZURE_PIPELINES_SCHEMA),
                             (".github/workflows/pr.yml", GITHUB_WORKFLOWS_SCHEMA)):  # fmt: skip
        if (project / workflow).exists():
            result = run_tool(VENV_BIN / "check-jsonschema", *schema, project / workflow)
            assert result.returncode == 0, result.stdout + result.stderr
            text = (project / workflow).read_text()
            assert "continueOnError" not in text and "continue-on-error" not in text


def test_the_schema_check_does_catch_a_broken_pipeline(tmp_path: Path) -> None:
    """A negative control, so a silently skipped validation cannot pass the test above."""
    broken = tmp_path / "pr.yml"
    broken.write_text("trigger: none\nstepz:\n  - script: make test\n")
    for schema in (AZURE_PIPELINES_SCHEMA, GITHUB_WORKFLOWS_SCHEMA):
        result = run_tool(VENV_BIN / "check-jsonschema", *schema, broken)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "validation error" in result.stdout + result.stderr


def test_the_generated_code_passes_its_own_lint(case: tuple[str, Path]) -> None:
    project = case[1]
    for command in (["check", "."], ["format", "--check", "."]):
        result = run_tool(VENV_BIN / "ruff", *command, "--no-cache", cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_opens_with_an_annotated_tree(case: tuple[str, Path]) -> None:
    readme = (case[1] / "README.md").read_text()
    first_block = readme.split("```")[1]
    folders = [
        line for line in first_block.splitlines() if line.rstrip().split("<-")[0].rstrip().endswith("/")
    ]
    assert folders and all("<-" in line for line in folders[1:])
    assert readme.index("```") < readme.index("## Quickstart") < readme.index("## Why")


def test_the_template_pins_are_the_repository_lock_versions() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {package["name"]: package["version"] for package in lock["package"]}
    pins: dict[str, str] = template_answers()["_pins"]  # type: ignore[assignment]
    # torch lives in the shared PyTorch test environment (tests/support/torch), not in the main one.
    torch_lock = tomllib.loads((REPO / "tests" / "support" / "torch" / "uv.lock").read_text())
    locked["torch"] = next(
        package["version"] for package in torch_lock["package"] if package["name"] == "torch"
    )
    # pre-commit is not a dependency of this repository: the template pins it on its own.
    mismatched = {
        name: (pin, locked.get(name))
        for name, pin in pins.items()
        if name != "pre-commit" and locked.get(name) != pin
    }
    assert mismatched == {}


def test_a_relative_template_path_and_the_directory_option_both_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hooks find their helpers even when cookiecutter only knows a relative template path."""
    monkeypatch.chdir(REPO)
    relative = cookiecutter(str(TEMPLATE.relative_to(REPO)), no_input=True, output_dir=str(tmp_path / "a"))
    nested = cookiecutter(
        ".", directory=str(TEMPLATE.relative_to(REPO)), no_input=True, output_dir=str(tmp_path / "b")
    )
    for project in (Path(relative), Path(nested)):
        assert (project / "aml" / "online").is_dir()
        assert not (project / ".github").exists()
