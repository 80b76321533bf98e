"""The template's hook helpers, tested directly: answer rules and pruning."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
from project_hooks import answers, command_line, processes, pruning
from project_hooks.answers import CHECKS, CHOICES, DEFAULT_ANSWERS, validate_answers
from project_hooks.errors import InvalidAnswerError
from project_hooks.pruning import OWNED_PATHS, prune, unselected_paths

from tests.templates.generation import template_answers


@pytest.mark.parametrize(
    "module", [answers, command_line, processes, pruning], ids=lambda module: module.__name__
)
def test_docstring_examples_hold(module: object) -> None:
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_every_question_of_the_template_has_a_rule() -> None:
    questions = {key for key in template_answers() if not key.startswith("_")}
    assert questions == set(CHECKS)


def test_choice_rules_match_the_template_lists() -> None:
    template = template_answers()
    assert {field: tuple(template[field]) for field in CHOICES} == CHOICES  # type: ignore[arg-type]


def test_every_question_has_help_text() -> None:
    template = template_answers()
    assert set(template["__prompts__"]) == set(CHECKS)  # type: ignore[arg-type]


def test_the_defaults_are_valid() -> None:
    validate_answers(DEFAULT_ANSWERS)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project_slug", "a"),
        ("project_slug", "Upper-case"),
        ("project_slug", "double--hyphen"),
        ("project_slug", "trailing-"),
        ("project_slug", "9lives"),
        ("package_name", "my-package"),
        ("package_name", "import"),
        ("package_name", "Package"),
        ("endpoint_name", "ab"),
        ("endpoint_name", "a" * 33),
        ("endpoint_name", "-starts-with-hyphen"),
        ("endpoint_name", "under_score"),
        ("description", 'says "hi"'),
        ("description", "two\nlines"),
        ("project_name", "{{ oops }}"),
        ("author", ""),
        ("data_source", "https://example.com/data.csv"),
        ("data_source", "azureml://datastores/Data-Lake/paths/x.csv"),
        ("data_source", "azureml://datastores/datalake/paths/"),
        ("data_source", "azureml://datastores/datalake/paths/../secrets.csv"),
        ("data_source", "azureml://datastores/datalake/paths//abs.csv"),
        ("data_source", "azureml://datastores/datalake/paths/with space.csv"),
        ("python_version", "3.10"),
        ("deployment", "kubernetes"),
        ("databricks_job", "maybe"),
    ],
)
def test_a_broken_rule_names_the_field_and_the_value(field: str, value: str) -> None:
    with pytest.raises(InvalidAnswerError) as caught:
        validate_answers({**DEFAULT_ANSWERS, field: value})
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}={value!r} is invalid: ")
    assert caught.value.rule


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("endpoint_name", "abc"),
        ("endpoint_name", "A" + "b" * 31),
        ("endpoint_name", "ep-1"),
        ("package_name", "_private_pkg"),
        ("data_source", "azureml://datastores/datalake_raw/paths/diabetes/2026/train.parquet"),
        ("data_source", "azureml://datastores/workspaceblobstore/paths/folder/"),
    ],
)
def test_values_at_the_edge_of_a_rule_are_accepted(field: str, value: str) -> None:
    validate_answers({**DEFAULT_ANSWERS, field: value})


def test_a_missing_or_non_string_answer_is_refused() -> None:
    without_task = {key: value for key, value in DEFAULT_ANSWERS.items() if key != "task"}
    with pytest.raises(InvalidAnswerError, match="task=None is invalid: is required"):
        validate_answers(without_task)
    with pytest.raises(InvalidAnswerError, match="must be a string"):
        validate_answers({**DEFAULT_ANSWERS, "python_version": 3.11})


TORCH_ONLY = ["src/diabetes_progression/torch_model.py", "src/diabetes_progression/torch_train.py",
              "tests/test_torch_ddp.py"]  # fmt: skip
SKLEARN_ONLY = [f"src/digits/{name}.py" for name in ("train", "tune", "sweep_trial", "plots")] + [
    "tests/test_train.py", "tests/test_tune.py", "tests/test_aml_sweep.py"]  # fmt: skip


@pytest.mark.parametrize(
    ("answers_override", "pruned"),
    [
        ({}, [".github", "aml/batch", "tests/test_aml_batch.py", "databricks", *TORCH_ONLY]),
        ({"ci_provider": "none", "deployment": "both"},
         [".azure-pipelines", "pipelines", ".github", "databricks", *TORCH_ONLY]),
        ({"ci_provider": "github-actions", "deployment": "batch", "databricks_job": "yes"},
         [".azure-pipelines", "aml/online", "aml/monitoring.yml", *TORCH_ONLY]),
        ({"framework": "pytorch", "task": "classification", "package_name": "digits"},
         [".github", "aml/batch", "tests/test_aml_batch.py", "databricks", *SKLEARN_ONLY]),
    ],
)  # fmt: skip
def test_only_the_unselected_parts_are_pruned(answers_override: dict[str, str], pruned: list[str]) -> None:
    assert unselected_paths({**DEFAULT_ANSWERS, **answers_override}) == pruned


def test_prune_removes_folders_and_files_and_can_run_twice(tmp_path: Path) -> None:
    # dict.fromkeys: `pipelines` belongs to both CI providers.
    package = DEFAULT_ANSWERS["package_name"]
    owned = dict.fromkeys(
        path.format(package_name=package)
        for owners in OWNED_PATHS.values()
        for paths in owners.values()
        for path in paths
    )
    for relative in owned:
        (tmp_path / relative).mkdir(parents=True)
        (tmp_path / relative / "kept-only-if-selected.yml").write_text("x: 1\n")
    (tmp_path / "aml" / "pipeline.yml").write_text("kept: always\n")
    answers = {**DEFAULT_ANSWERS, "ci_provider": "none", "deployment": "online"}

    removed = prune(tmp_path, answers)

    assert sorted(path.relative_to(tmp_path).as_posix() for path in removed) == sorted(
        unselected_paths(answers)
    )
    assert (tmp_path / "aml" / "online").is_dir()
    assert (tmp_path / "aml" / "pipeline.yml").is_file()
    assert not (tmp_path / ".github").exists()
    assert prune(tmp_path, answers) == []


@pytest.mark.parametrize(
    ("answers_override", "words"),
    [
        ({"framework": "pytorch"}, "framework='pytorch' is invalid: needs task in ['classification'] (task='regression')"),
        ({"online_compute": "gpu"}, "online_compute='gpu' is invalid: needs framework in ['pytorch']"),
        ({"framework": "pytorch", "task": "classification", "databricks_job": "yes"},
         "databricks_job='yes' is invalid: needs framework in ['scikit-learn'] (framework='pytorch')"),
    ],
)  # fmt: skip
def test_answers_that_contradict_each_other_are_refused_naming_both(
    answers_override: dict[str, str], words: str
) -> None:
    with pytest.raises(InvalidAnswerError, match=re.escape(words)):
        validate_answers({**DEFAULT_ANSWERS, **answers_override})
    validate_answers(
        {**DEFAULT_ANSWERS, "framework": "pytorch", "task": "classification", "online_compute": "gpu"}
    )
