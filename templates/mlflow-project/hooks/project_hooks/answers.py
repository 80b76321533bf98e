"""Rules for the mlflow-project template's answers, checked before any file is written.

>>> validate_answers({**DEFAULT_ANSWERS, "endpoint_name": "1-bad"})
Traceback (most recent call last):
...
project_hooks.errors.InvalidAnswerError: endpoint_name='1-bad' is invalid: 3-32 letters, digits and hyphens, \
starting with a letter and not ending with a hyphen (Azure ML endpoint names)
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from project_hooks.errors import InvalidAnswerError

# Closed lists: the same values as cookiecutter.json. Cookiecutter checks command-line and extra_context values
# itself, but not replayed answers; every answer is checked again when the project folder is named.
CHOICES: dict[str, tuple[str, ...]] = {
    "python_version": ("3.11", "3.12"),
    "task": ("regression", "classification"),
    "framework": ("scikit-learn", "pytorch"),
    "ci_provider": ("azure-pipelines", "github-actions", "none"),
    "deployment": ("online", "batch", "both"),
    "databricks_job": ("no", "yes"),
    "online_compute": ("cpu", "gpu"),
}

DEFAULT_ANSWERS: dict[str, str] = {
    "project_name": "Diabetes Progression",
    "project_slug": "diabetes-progression",
    "package_name": "diabetes_progression",
    "description": "Predicts disease progression one year after baseline.",
    "author": "Data Science Team",
    "python_version": "3.11",
    "task": "regression",
    "framework": "scikit-learn",
    "ci_provider": "azure-pipelines",
    "deployment": "online",
    "databricks_job": "no",
    "data_source": "sample",
    "endpoint_name": "diabetes-progression-ep",
    "online_compute": "cpu",
    "alert_email": "mlops-alerts@contoso.com",
    "platform_repository": "mlops/azure-mlops",
}
"""A valid set of answers (the template's defaults, rendered): a base for tests and examples."""

SAMPLE_DATA_SOURCE = "sample"


@dataclass(frozen=True)
class PatternRule:
    """A regular expression plus length bounds, with the sentence shown when a value breaks it."""

    pattern: re.Pattern[str]
    min_length: int
    max_length: int
    description: str

    def check(self, field: str, value: str) -> None:
        if not (self.min_length <= len(value) <= self.max_length and self.pattern.fullmatch(value)):
            raise InvalidAnswerError(field, value, self.description)


# Free-text answers end up inside TOML/YAML strings and Markdown: quotes, backslashes and braces
# would break those files or read as leftover Jinja, so they are refused rather than escaped.
_TEXT = re.compile(r"[^\"\\{}\x00-\x1f\x7f]+")


def _text_rule(max_length: int) -> PatternRule:
    return PatternRule(
        _TEXT, 1, max_length, f"1-{max_length} characters on one line, without quotes, backslashes or braces"
    )


# One Azure DevOps project or Git repository name (https://learn.microsoft.com/azure/devops/organizations/settings/
# naming-restrictions): 1-64 characters, no reserved character or control character, no '_' or '.' first, no '.'
# last, no surrounding space.
_AZURE_DEVOPS_NAME = r"(?![_.\s])[^/\\:*?\"<>|;#$}{,+=\[\]~&%@'\x00-\x1f]{1,64}(?<![.\s])"

PATTERN_RULES: dict[str, PatternRule] = {
    "project_name": _text_rule(80),
    "description": _text_rule(200),
    "author": _text_rule(100),
    # The slug names the folder, the registered model, the experiment and the AML environment:
    # model and environment names allow more, but this is the subset every one of them accepts.
    "project_slug": PatternRule(
        re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*"),
        3,
        50,
        "3-50 lower-case letters, digits and single hyphens, starting with a letter and not ending "
        "with a hyphen",
    ),
    "package_name": PatternRule(
        re.compile(r"[a-z_][a-z0-9_]*"),
        1,
        50,
        "a lower-case Python identifier (letters, digits and _, not starting with a digit), "
        "at most 50 characters",
    ),
    # azure.ai.ml's EndpointConfigurations.NAME_REGEX_PATTERN, plus the documented 3-32 length.
    "endpoint_name": PatternRule(
        re.compile(r"[a-zA-Z](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"),
        3,
        32,
        "3-32 letters, digits and hyphens, starting with a letter and not ending with a hyphen "
        "(Azure ML endpoint names)",
    ),
    # Lands in aml/monitoring.yml's alert_notification; a plain address, no display name or list. The
    # local part is dot-separated atoms; the domain is DNS labels of 1-63 letters, digits and inner hyphens
    # (RFC 1035) ending in an alphabetic top-level label, so `a@-x.com`, `a@x..com` and `.a@x.com` fail.
    "alert_email": PatternRule(
        re.compile(
            r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
            r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
        ),
        6,
        254,
        "one e-mail address such as mlops-alerts@contoso.com (Azure ML monitoring alert recipient), "
        "its domain made of letters, digits and inner hyphens",
    ),
    # The `name` of cd.yml's repository resource: <project>/<repository> in the same organization. Both parts
    # follow Azure DevOps' naming restrictions for projects and Git repositories (at most 64 characters, none of
    # the reserved special characters, not starting with '_' or '.', not ending with '.'); quotes, backslashes and
    # braces are among them, so the value is safe in YAML and Markdown.
    "platform_repository": PatternRule(
        re.compile(rf"{_AZURE_DEVOPS_NAME}/{_AZURE_DEVOPS_NAME}"),
        3,
        129,
        "<project>/<repository> of the azure-mlops platform in Azure Repos: two names of 1-64 characters, "
        "neither starting with '_' or '.' nor ending with '.', without \\ / : * ? \" < > | ; # $ { } , + = [ ] ~ "
        "& % @ ' (Azure DevOps naming restrictions)",
    ),
}

# azureml://datastores/<datastore>/paths/<path>: datastore names are lower-case letters, digits
# and _ (the platform names its data lake datastores `datalake_<container>`).
_DATASTORE_URI = re.compile(
    r"azureml://datastores/(?P<datastore>[a-z0-9_]{1,255})/paths/(?P<path>[^\s\"'{}\\]+)"
)
# A registered MLTable data asset, by name and version (Azure ML data asset names: letters, digits, - and _).
_MLTABLE_ASSET = re.compile(r"azureml:[A-Za-z0-9_][A-Za-z0-9_-]{0,254}:[0-9]{1,10}")
# A local file the project reads (relative to the generated project, or absolute): plain path characters only.
_LOCAL_FILE = re.compile(r"(?:/|\./)?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*\.(?:csv|parquet)")
_DATA_SOURCE_RULE = (
    f"either {SAMPLE_DATA_SOURCE!r}, azureml://datastores/<datastore>/paths/<path> (<datastore> lower-case "
    "letters, digits and _, <path> non-empty, relative, without spaces, quotes, braces or '..'), "
    "azureml:<MLTable data asset>:<version>, or a local .csv/.parquet file (relative to the project or "
    "absolute; letters, digits, '_', '-', '.' and '/', without '..')"
)


def check_data_source(field: str, value: str) -> None:
    """Accept the bundled sample, an Azure ML datastore URI, an MLTable data asset or a local file.

    >>> check_data_source("data_source", "azureml://datastores/datalake_raw/paths/diabetes/train.csv")
    >>> check_data_source("data_source", "azureml:wine-training:3")
    >>> check_data_source("data_source", "data/wine.csv")
    >>> check_data_source("data_source", "https://example.com/data.csv")
    Traceback (most recent call last):
    ...
    project_hooks.errors.InvalidAnswerError: data_source='https://example.com/data.csv' is invalid: \
either 'sample', azureml://datastores/<datastore>/paths/<path> (<datastore> lower-case letters, digits and _, \
<path> non-empty, relative, without spaces, quotes, braces or '..'), azureml:<MLTable data asset>:<version>, \
or a local .csv/.parquet file (relative to the project or absolute; letters, digits, '_', '-', '.' and '/', \
without '..')
    """
    if value == SAMPLE_DATA_SOURCE or _MLTABLE_ASSET.fullmatch(value):
        return
    if _LOCAL_FILE.fullmatch(value) and ".." not in value.split("/"):
        return
    match = _DATASTORE_URI.fullmatch(value)
    if match is None or match["path"].startswith("/") or ".." in match["path"].split("/"):
        raise InvalidAnswerError(field, value, _DATA_SOURCE_RULE)


# Import names of the project's dependencies (cookiecutter.json `_pins`) where they differ from the
# distribution name: a package named after one would be imported instead of it.
_IMPORT_NAMES = {"scikit-learn": "sklearn", "azure-ai-ml": "azure", "azure-identity": "azure"}
# The generated project's own top-level folders that are importable: tests/ is its test package.
_PROJECT_PACKAGES = frozenset({"test", "tests", "src"})


def shadowed_modules(pins: Mapping[str, object]) -> frozenset[str]:
    """Module names a project package must not take: the standard library, dependencies, the test package.

    >>> sorted({"mlflow", "sklearn", "json", "tests"} & shadowed_modules({"mlflow": "3", "scikit-learn": "1"}))
    ['json', 'mlflow', 'sklearn', 'tests']
    """
    dependencies = {_IMPORT_NAMES.get(name, name.replace("-", "_").split(".")[0]) for name in pins}
    return frozenset(sys.stdlib_module_names) | _PROJECT_PACKAGES | dependencies


def check_package_name(field: str, value: str, pins: Mapping[str, object]) -> None:
    """A package must also not be a keyword, underscores alone, or shadow a module the project imports."""
    PATTERN_RULES[field].check(field, value)
    if keyword.iskeyword(value):
        raise InvalidAnswerError(field, value, "must not be a Python keyword")
    if not value.strip("_"):
        raise InvalidAnswerError(field, value, "must contain a letter or digit, not underscores alone")
    if value in shadowed_modules(pins):
        raise InvalidAnswerError(
            field,
            value,
            "must not shadow a module the project imports (the standard library, a dependency in "
            "cookiecutter.json's _pins, or the tests package)",
        )


def _check_choice(field: str, value: str) -> None:
    if value not in CHOICES[field]:
        raise InvalidAnswerError(field, value, f"must be one of {list(CHOICES[field])}")


def _pattern_checker(field: str) -> Callable[[str, str], None]:
    return PATTERN_RULES[field].check


CHECKS: dict[str, Callable[[str, str], None]] = {
    **{field: _pattern_checker(field) for field in PATTERN_RULES},
    **{field: _check_choice for field in CHOICES},
    "data_source": check_data_source,
}
"""One check per answer: every answer the template asks for is covered."""


# Answers that only make sense together: (field, value, other field, values it needs, why).
REQUIRES: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    (
        "framework",
        "pytorch",
        "task",
        ("classification",),
        "the PyTorch variant trains a digits classifier (a CNN on scikit-learn's 8x8 digits images)",
    ),
    (
        "framework",
        "pytorch",
        "data_source",
        ("sample",),
        "the PyTorch variant's network is shaped for the digits sample's 8x8 images (its contract.yml)",
    ),
    ("online_compute", "gpu", "framework", ("pytorch",), "only the PyTorch model uses a GPU when it scores"),
    (
        "databricks_job",
        "yes",
        "framework",
        ("scikit-learn",),
        "the Databricks job trains the scikit-learn model; the PyTorch variant trains on the Azure ML GPU cluster",
    ),
)


def check_combinations(answers: Mapping[str, object]) -> None:
    """Refuse answers that contradict each other, naming both.

    >>> check_combinations({**DEFAULT_ANSWERS, "framework": "pytorch"})
    Traceback (most recent call last):
    ...
    project_hooks.errors.InvalidAnswerError: framework='pytorch' is invalid: needs task in ['classification'] \
(task='regression'): the PyTorch variant trains a digits classifier (a CNN on scikit-learn's 8x8 digits images)
    """
    for field, value, other, accepted, reason in REQUIRES:
        if answers.get(field) == value and answers.get(other) not in accepted:
            raise InvalidAnswerError(
                field, value, f"needs {other} in {list(accepted)} ({other}={answers.get(other)!r}): {reason}"
            )


def validate_answers(answers: Mapping[str, object]) -> None:
    """Raise InvalidAnswerError for the first answer found that breaks its rule.

    Keys starting with `_` are cookiecutter's own (`_template`, `_output_dir`, ...) and are ignored.
    """
    for field, check in CHECKS.items():
        if field not in answers:
            raise InvalidAnswerError(field, None, "is required: the template asks for it")
        value = answers[field]
        if not isinstance(value, str):
            raise InvalidAnswerError(field, value, "must be a string")
        check(field, value)
    pins = answers.get("_pins")
    check_package_name(
        "package_name", str(answers["package_name"]), pins if isinstance(pins, Mapping) else {}
    )
    check_combinations(answers)


def validate_given_answers(given: Mapping[str, str], pins: Mapping[str, object]) -> None:
    """Check the answers that were given (command-line `key=value` pairs); unknown keys are cookiecutter's to ignore.

    >>> validate_given_answers({"task": "clustering"}, {})
    Traceback (most recent call last):
    ...
    project_hooks.errors.InvalidAnswerError: task='clustering' is invalid: must be one of ['regression', \
'classification']
    """
    for field, value in given.items():
        if field in CHECKS:
            CHECKS[field](field, value)
    if "package_name" in given:
        check_package_name("package_name", given["package_name"], pins)


def validate_default_context(source: str, defaults: Mapping[str, object]) -> None:
    """Check a user configuration's `default_context` values for the template's closed lists.

    >>> validate_default_context("~/.cookiecutterrc", {"framework": "tensorflow", "other_template_key": "x"})
    Traceback (most recent call last):
    ...
    project_hooks.errors.InvalidAnswerError: framework='tensorflow' (default_context in ~/.cookiecutterrc) is \
invalid: must be one of ['scikit-learn', 'pytorch']
    """
    for field, value in defaults.items():
        if field in CHOICES and value not in CHOICES[field]:
            where = f"default_context in {source}"
            raise InvalidAnswerError(field, value, f"must be one of {list(CHOICES[field])}", where)
