"""Validate against Microsoft's Azure Pipelines JSON schema, as vendored by check-jsonschema.

Root pipelines validate against the whole schema; templates against its `stepsTemplate`, `jobsTemplate`,
`stagesTemplate` or `variablesTemplate` definition. The data goes through check-jsonschema's own
azure-pipelines transform (it unnests `${{ }}` insertions, as the Azure DevOps language server does).
The schema's known false positives are listed once, in `FALSE_POSITIVES`, each with the reason.
"""

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from check_jsonschema.transforms.azure_pipelines import azure_main
from jsonschema import Draft7Validator, ValidationError

from pipelines.validation.documents import Document

_DEFINITION_FOR_KIND = {
    "steps": "stepsTemplate",
    "jobs": "jobsTemplate",
    "stages": "stagesTemplate",
    "variables": "variablesTemplate",
}
# A value that is one whole expression: template `${{ }}`, runtime `$[ ]` or macro `$( )`.
_WHOLE_EXPRESSION = re.compile(r"^\s*(\$\{\{.*\}\}|\$\[.*\]|\$\(.*\))\s*$", re.DOTALL)


@dataclass(frozen=True)
class FalsePositive:
    name: str
    why: str
    matches: Callable[[ValidationError], bool]


def _scalar_where_string_expected(error: ValidationError) -> bool:
    return (
        error.validator == "type"
        and isinstance(error.instance, bool | int | float)
        and "string"
        in (error.validator_value if isinstance(error.validator_value, list) else [error.validator_value])
    )


def _whole_expression(error: ValidationError) -> bool:
    return isinstance(error.instance, str) and bool(_WHOLE_EXPRESSION.match(error.instance))


def _templated_identifier(error: ValidationError) -> bool:
    return error.validator == "pattern" and isinstance(error.instance, str) and "${{" in error.instance


FALSE_POSITIVES = (
    FalsePositive(
        "scalar-as-string",
        "Azure Pipelines reads every YAML scalar as a string, so `timeoutInMinutes: 60` or `default: true` "
        "is what the service expects; the schema types them as strings and rejects the YAML int/bool.",
        _scalar_where_string_expected,
    ),
    FalsePositive(
        "whole-expression",
        "A value that is one `${{ }}`, `$[ ]` or `$( )` expression is replaced before the value is typed "
        "(e.g. `dependsOn: ${{ parameters.dependsOn }}` becomes a list); the schema checks the raw string.",
        _whole_expression,
    ),
    FalsePositive(
        "templated-identifier",
        "Job/stage names built from template expressions (`${{ parameters.name }}_submit`) are valid once "
        "expanded; the schema's identifier `pattern` sees the braces.",
        _templated_identifier,
    ),
)


@cache
def _schema() -> dict[str, Any]:
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("azure-pipelines.json")
        .read_text()
    )
    return json.loads(text)


@cache
def _validator(kind: str) -> Draft7Validator:
    schema = _schema()
    if kind != "pipeline":
        schema = {"$ref": f"#/definitions/{_DEFINITION_FOR_KIND[kind]}", "definitions": schema["definitions"]}
    # No format checker: the schema's formats are editor hints; the regex engine is Python's `re`.
    return Draft7Validator(schema)


def _is_false_positive(error: ValidationError) -> bool:
    return any(fp.matches(error) for fp in FALSE_POSITIVES)


def _real_errors(error: ValidationError) -> list[ValidationError]:
    """Errors left once false positives are removed; an anyOf/oneOf passes if one branch has none left."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        if len(branches) < len(error.validator_value):
            return []  # some branch produced no error at all
        remaining = [[e for sub in subs for e in _real_errors(sub)] for subs in branches.values()]
        # Report the branch that fits best: one whose type matched the value, then the fewest errors.
        return min(remaining, key=lambda errs: (any(_type_mismatch_at(e, error) for e in errs), len(errs)))
    return [] if _is_false_positive(error) else [error]


def _type_mismatch_at(sub: ValidationError, parent: ValidationError) -> bool:
    return sub.validator == "type" and list(sub.absolute_path) == list(parent.absolute_path)


def _format(error: ValidationError) -> str:
    location = "$" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{location}: {error.message[:300]}"


def schema_errors(document: Document) -> list[str]:
    """Schema violations of `document` that are not known false positives, as `path: message` strings."""
    data = azure_main(document.data)
    errors: Iterable[ValidationError] = _validator(document.kind).iter_errors(data)
    return sorted({_format(real) for error in errors for real in _real_errors(error)})
