"""Invalid answers stop generation with a message naming the field, the value and the rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException, UndefinedVariableInTemplate

from tests.templates.generation import generate

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
    field: str, value: str, rule: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    output.mkdir()

    with pytest.raises(FailedHookException):
        generate(output, **{field: value})

    stderr = capfd.readouterr().err
    assert f"ERROR: {field}={value!r} is invalid: {rule}" in stderr
    assert "Nothing was generated." in stderr
    assert list(output.iterdir()) == [], "the output folder must be left empty"


# Cookiecutter checks closed lists itself when answers come from extra_context or a user config,
# before any hook or folder exists; project_hooks checks them again for replays and old configs.
BAD_CHOICES = [
    ("task", "clustering", "['regression', 'classification']"),
    ("ci_provider", "jenkins", "['azure-pipelines', 'github-actions', 'none']"),
    ("python_version", "3.9", "['3.11', '3.12']"),
    ("deployment", "kubernetes", "['online', 'batch', 'both']"),
]


@pytest.mark.parametrize(("field", "value", "choices"), BAD_CHOICES, ids=[case[0] for case in BAD_CHOICES])
def test_an_unknown_choice_is_refused_before_anything_is_written(
    field: str, value: str, choices: str, tmp_path: Path
) -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(f"{value} provided for choice variable {field}, but the choices are {choices}"),
    ):
        generate(tmp_path, **{field: value})
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
def test_template_syntax_in_an_answer_runs_nothing_and_names_the_answer(answer: str, tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    marker = tmp_path / "marker"

    with pytest.raises(UndefinedVariableInTemplate) as raised:
        generate(output, author=answer.replace("MARKER", str(marker)))

    assert "Unable to render variable 'author'" in str(raised.value)
    assert "rendered in a sandbox" in str(raised.value)
    assert not marker.exists(), "an answer ran a command on the generating machine"
    assert list(output.iterdir()) == []
