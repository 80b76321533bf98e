"""Invalid answers stop generation with a message naming the field, the value and the rule."""

from __future__ import annotations

import json
import os
import re
import subprocess
import warnings
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException, UndefinedVariableInTemplate
from cookiecutter.main import cookiecutter
from project_hooks.answers import CHOICES, DEFAULT_ANSWERS

from tests.templates.generation import TEMPLATE, VENV_BIN, generate, run_tool, template_answers


@pytest.fixture
def output(tmp_path: Path) -> Path:
    """The empty folder generation writes into; a refused answer must leave it empty."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


BAD_ANSWERS = [
    # (field, value, the start of the rule the message must quote)
    ("package_name", "1st_model", "a lower-case Python identifier"),
    ("package_name", "class", "must not be a Python keyword"),
    # A package named after a module the project imports would be imported in its place.
    ("package_name", "mlflow", "must not shadow a module the project imports"),
    ("package_name", "sklearn", "must not shadow a module the project imports"),
    ("package_name", "json", "must not shadow a module the project imports"),
    ("package_name", "test", "must not shadow a module the project imports"),
    ("package_name", "tests", "must not shadow a module the project imports"),
    ("package_name", "_", "must contain a letter or digit"),
    ("package_name", "__", "must contain a letter or digit"),
    ("alert_email", "alerts@-contoso.com", "one e-mail address"),
    ("alert_email", "alerts@contoso-.com", "one e-mail address"),
    ("alert_email", "alerts@contoso..com", "one e-mail address"),
    ("alert_email", ".alerts@contoso.com", "one e-mail address"),
    ("alert_email", "alerts@contoso.c0m", "one e-mail address"),
    ("alert_email", f"alerts@{'a' * 64}.com", "one e-mail address"),
    # cd.yml's repository resource `name`: <project>/<repository>, Azure DevOps' naming restrictions.
    ("platform_repository", "azure-mlops", "<project>/<repository> of the azure-mlops platform"),
    ("platform_repository", "mlops/.azure-mlops", "<project>/<repository> of the azure-mlops platform"),
    ("endpoint_name", "ep", "3-32 letters, digits and hyphens"),
    ("endpoint_name", "9-lives", "3-32 letters, digits and hyphens, starting with a letter"),
    ("endpoint_name", "e" * 33, "3-32 letters"),
    (
        "endpoint_name",
        "ends-with-",
        "3-32 letters, digits and hyphens, starting with a letter and not ending",
    ),
    ("project_slug", "My Project", "3-50 lower-case letters, digits and single hyphens"),
    ("project_slug", "team/project", "3-50 lower-case letters"),
    (
        "data_source",
        "s3://bucket/data.csv",
        "either 'sample', azureml://datastores/<datastore>/paths/<path>",
    ),
    ("data_source", "azureml://datastores/lake/paths/../x.csv", "either 'sample', azureml://"),
    ("description", 'The "best" model', "1-200 characters on one line, without quotes"),
]


@pytest.mark.parametrize(
    ("field", "value", "rule"), BAD_ANSWERS, ids=[f"{f}={v[:12]}" for f, v, _ in BAD_ANSWERS]
)
def test_an_invalid_answer_stops_generation_and_leaves_nothing(
    field: str, value: str, rule: str, output: Path
) -> None:
    with pytest.raises(FailedHookException) as raised:
        generate(output, **{field: value})

    assert str(raised.value).startswith(f"ERROR: {field}={value!r} is invalid: {rule}")
    assert str(raised.value).endswith("Nothing was generated.")
    assert list(output.iterdir()) == [], "the output folder must be left empty"


# Every closed list of cookiecutter.json, each with a value outside it. Cookiecutter checks closed lists itself
# when answers come from extra_context or the command line, before any hook or folder exists; project_hooks
# checks them again for replays, user-configuration defaults and cruft.
BAD_CHOICES = [
    ("task", "clustering", "['regression', 'classification']"),
    ("framework", "tensorflow", "['scikit-learn', 'pytorch']"),
    ("ci_provider", "jenkins", "['azure-pipelines', 'github-actions', 'none']"),
    ("python_version", "3.9", "['3.11', '3.12']"),
    ("deployment", "kubernetes", "['online', 'batch', 'both']"),
    ("databricks_job", "maybe", "['no', 'yes']"),
    ("online_compute", "tpu", "['cpu', 'gpu']"),
]


def test_the_bad_choices_cover_every_closed_list() -> None:
    assert {field for field, _, _ in BAD_CHOICES} == set(CHOICES)


@pytest.mark.parametrize(("field", "value", "choices"), BAD_CHOICES, ids=[case[0] for case in BAD_CHOICES])
def test_the_api_raises_a_value_error_naming_the_field_and_the_choices(
    field: str, value: str, choices: str, tmp_path: Path
) -> None:
    """cookiecutter(..., extra_context=...): cookiecutter's own check, a ValueError, before anything exists."""
    with pytest.raises(
        ValueError,
        match=re.escape(f"{value} provided for choice variable {field}, but the choices are {choices}"),
    ):
        generate(tmp_path, **{field: value})
    assert list(tmp_path.iterdir()) == []


def test_the_templates_own_refusals_are_value_errors_too(tmp_path: Path) -> None:
    """API callers catch one type: the template's refusal is a ValueError as well as cookiecutter's hook failure."""
    with pytest.raises(ValueError, match=re.escape("ERROR: package_name='mlflow' is invalid")) as raised:
        generate(tmp_path, package_name="mlflow")
    assert isinstance(raised.value, FailedHookException)
    assert list(tmp_path.iterdir()) == []


# Cookiecutter renders each answer as a Jinja template before any hook sees it; outside a sandbox these
# reach os.popen through a global's __init__.__globals__.
INJECTIONS = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ joiner.__init__.__globals__['os'].system('touch MARKER') }}",
    "{% set x = namespace.__init__.__globals__ %}{{ x.os.popen('touch MARKER') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
]


@pytest.mark.parametrize("answer", INJECTIONS, ids=range(len(INJECTIONS)))
def test_template_syntax_in_an_answer_runs_nothing_and_names_the_answer(
    answer: str, output: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"

    with pytest.raises(UndefinedVariableInTemplate) as raised:
        generate(output, author=answer.replace("MARKER", str(marker)))

    assert "Unable to render variable 'author'" in str(raised.value)
    assert "rendered in a sandbox" in str(raised.value)
    assert not marker.exists(), "an answer ran a command on the generating machine"
    assert list(output.iterdir()) == []


# Answers cookiecutter itself used to choke on before any hook: a value outside a closed list on the command line
# (its ValueError in generate_context) and a name the operating system refuses as a folder (its OSError when it
# creates the project folder). The real CLI, as users run it: one line naming the field and what it accepts.
CLI_BAD_ANSWERS = [
    *[(field, value, f"must be one of {choices}") for field, value, choices in BAD_CHOICES],
    ("project_name", "Project " * 40, "1-80 characters on one line"),
    ("project_slug", "a" * 300, "3-50 lower-case letters, digits and single hyphens"),
    (
        "author",
        "{{ cookiecutter.project_slug",
        "1-100 characters on one line, without quotes, backslashes or braces",
    ),
    ("package_name", "mlflow", "must not shadow a module the project imports"),
]


def _one_line_refusal(done: subprocess.CompletedProcess[str], field: str, rule: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output
    naming = [line for line in output.splitlines() if line.startswith(f"ERROR: {field}=")]
    assert len(naming) == 1, output
    assert rule in naming[0]
    assert naming[0].endswith("Nothing was generated.")


@pytest.mark.parametrize(
    ("field", "value", "rule"), CLI_BAD_ANSWERS, ids=[f"{f}={v[:10]}" for f, v, _ in CLI_BAD_ANSWERS]
)
def test_the_cookiecutter_cli_refuses_in_one_line_and_writes_nothing(
    field: str, value: str, rule: str, output: Path, tmp_path: Path
) -> None:
    done = run_tool(
        VENV_BIN / "cookiecutter", TEMPLATE, "--no-input", "-o", output, f"{field}={value}", cwd=tmp_path
    )

    _one_line_refusal(done, field, rule)
    assert list(output.iterdir()) == []


def test_an_overlong_project_name_through_the_api_names_the_field_not_an_oserror(tmp_path: Path) -> None:
    """Without the check, the derived slug (300 characters) fails as an OSError creating the project folder."""
    with pytest.raises(FailedHookException, match=re.escape("ERROR: project_name='") + ".*1-80 characters"):
        generate(tmp_path, project_name="a" * 300)
    with pytest.raises(FailedHookException, match=re.escape("ERROR: project_slug='") + ".*3-50 lower-case"):
        generate(tmp_path, project_slug="a" * 300)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("field", "value", "choices"), BAD_CHOICES, ids=[case[0] for case in BAD_CHOICES])
def test_a_replayed_bad_choice_is_refused_in_one_line(
    field: str, value: str, choices: str, output: Path, tmp_path: Path
) -> None:
    """A replay file skips cookiecutter's own choice check; the answers are checked before the folder is named."""
    template = template_answers()
    replay = {
        "cookiecutter": {
            **DEFAULT_ANSWERS,
            field: value,
            **{
                key: value
                for key, value in template.items()
                if key.startswith("_") and not key.startswith("__")
            },
        }
    }
    replay_file = tmp_path / "replay.json"
    replay_file.write_text(json.dumps(replay), encoding="utf-8")

    done = run_tool(
        VENV_BIN / "cookiecutter", TEMPLATE, "--replay-file", replay_file, "-o", output, cwd=tmp_path
    )

    _one_line_refusal(done, field, f"must be one of {choices}")
    assert list(output.iterdir()) == []


def _user_config(tmp_path: Path, field: str, value: str) -> Path:
    config = tmp_path / "cookiecutter config.yaml"  # a space: the path reaches the hook as one argument
    config.write_text(f"default_context:\n  {field}: {value!r}\n", encoding="utf-8")
    return config


@pytest.mark.parametrize(("field", "value", "choices"), BAD_CHOICES, ids=[case[0] for case in BAD_CHOICES])
@pytest.mark.parametrize("given", ["--config-file", "COOKIECUTTER_CONFIG"])
def test_a_bad_default_in_the_user_configuration_is_refused_in_one_line(
    given: str, field: str, value: str, choices: str, output: Path, tmp_path: Path
) -> None:
    """Cookiecutter would only warn and drop the default (and every default after it), and generate anyway."""
    config = _user_config(tmp_path, field, value)
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(config)} if given == "COOKIECUTTER_CONFIG" else None
    option = ["--config-file", config] if given == "--config-file" else []

    done = run_tool(
        VENV_BIN / "cookiecutter", TEMPLATE, "--no-input", "-o", output, *option, cwd=tmp_path, env=env
    )

    _one_line_refusal(done, field, f"must be one of {choices}")
    assert f"(default_context in {config})" in done.stderr
    assert "Invalid default received" not in done.stderr, "the hook refuses before cookiecutter warns"
    assert list(output.iterdir()) == []


def test_a_bad_default_is_no_refusal_with_default_config(output: Path, tmp_path: Path) -> None:
    """--default-config tells cookiecutter to ignore the user configuration; so does the hook."""
    config = _user_config(tmp_path, "framework", "tensorflow")
    done = run_tool(
        VENV_BIN / "cookiecutter", TEMPLATE, "--no-input", "-o", output, "--default-config",
        "--config-file", config, "ci_provider=none", "project_slug=default-config", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (output / "default-config").is_dir()


def test_through_the_api_a_bad_default_is_cookiecutters_warning(tmp_path: Path) -> None:
    """The API's contract for a user configuration (config_file=): cookiecutter warns, naming the value, the field
    and the choices, and generates with the template's default (a caller may turn the warning into an error)."""
    config = _user_config(tmp_path, "framework", "tensorflow")
    with pytest.warns(UserWarning, match=re.escape("tensorflow provided for choice variable framework")):
        project = cookiecutter(
            str(TEMPLATE), no_input=True, config_file=str(config), output_dir=str(tmp_path / "out"),
            extra_context={"ci_provider": "none"},
        )  # fmt: skip
    assert Path(project).name == "diabetes-progression", "the scikit-learn default, not the PyTorch variant"


def test_through_the_api_the_warning_made_an_error_refuses_before_anything_is_written(tmp_path: Path) -> None:
    """What docs/bad-input.md tells API callers who want a bad default refused."""
    config = _user_config(tmp_path, "online_compute", "tpu")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Invalid default received")
        with pytest.raises(UserWarning, match=re.escape("tpu provided for choice variable online_compute")):
            cookiecutter(
                str(TEMPLATE), no_input=True, config_file=str(config), output_dir=str(tmp_path / "out")
            )
    assert not (tmp_path / "out").exists()
