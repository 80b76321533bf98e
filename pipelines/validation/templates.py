"""Expand template references statically and check what the schema cannot: that every `template:` file exists,
that each call passes only declared parameters with compatible types and every required one, and that every
`dependsOn` names a stage or job of the same pipeline or template.

Expansion evaluates `${{ if }}`/`${{ each }}` with `expressions`. For binding checks it runs in "superset"
mode (every conditional branch kept), so a template inserted only under a false condition is still checked.
`<path>@<alias>` references resolve through `repositories` (the root's `resources.repositories` and the local
checkouts given for them). A root pipeline's variables templates are expanded first: their variables, like the
root's own, are what `${{ variables.x }}` sees, and a compile-time reference to a variable no YAML defines is a
finding (Azure Pipelines would silently read it as empty).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.validation.dependencies import dependency_findings
from pipelines.validation.documents import Document, load
from pipelines.validation.expressions import EMBEDDED, WHOLE, Unresolvable, evaluate, substitute, unresolved
from pipelines.validation.repositories import Repositories, declared_repositories

_CONTAINER_TYPES = {
    "step",
    "stepList",
    "job",
    "jobList",
    "deployment",
    "deploymentList",
    "stage",
    "stageList",
}
_PLACEHOLDER_FOR_TYPE = {"number": 1, "boolean": False, "object": [], "string": None}
# `variables.name` in a template expression; dotted names (Build.SourceBranch) are predefined variables.
_VARIABLE_READ = re.compile(r"\bvariables\.([A-Za-z_][\w.]*)")


def _is_directive(key: Any) -> bool:
    """`${{ if ... }}`, `${{ elseif ... }}`, `${{ else }}` or `${{ each ... }}` (not a computed key)."""
    match = WHOLE.match(key.strip()) if isinstance(key, str) else None
    return bool(match) and match.group(1).strip().split(" ", 1)[0] in ("if", "elseif", "else", "each")


def type_problem(spec: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` cannot bind to the parameter `spec` (type or `values:`), None if it can or is unknown."""
    if unresolved(value):
        return None
    declared = spec.get("type", "string")
    text = str(value).casefold()
    if declared == "string" and isinstance(value, dict | list):
        return f"is a {type(value).__name__}, parameter type is string"
    if declared == "number":
        try:
            float(value)
        except (TypeError, ValueError):
            return f"{value!r} is not a number"
    if declared == "boolean" and text not in ("true", "false"):
        return f"{value!r} is not a boolean"
    if declared in _CONTAINER_TYPES and not isinstance(value, dict | list):
        return f"{value!r} is not a {declared}"
    allowed = spec.get("values")
    if allowed is not None and text not in {str(v).casefold() for v in allowed}:
        return f"{value!r} is not one of {allowed}"
    return None


def declared_parameters(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Declared parameters by name (the typed list form)."""
    params = data.get("parameters") or []
    if isinstance(params, dict):  # legacy untyped form: every key optional
        return {name: {"name": name, "default": default} for name, default in params.items()}
    return {spec["name"]: spec for spec in params}


def root_variables(data: Mapping[str, Any]) -> dict[str, Any]:
    """Compile-time variables a root pipeline defines in YAML (name/value pairs)."""
    variables = data.get("variables") or []
    if isinstance(variables, dict):
        return dict(variables)
    return {v["name"]: v.get("value") for v in variables if isinstance(v, dict) and "name" in v}


@dataclass
class Expansion:
    """Result of expanding one file: its expanded body and what was found on the way."""

    body: dict[str, Any]
    findings: list[str] = field(default_factory=list)
    # Parameter placeholders: values standing for "whatever the caller passes", e.g. an external job name.
    placeholders: set[str] = field(default_factory=set)
    # Template references that resolve to no file (why, per reference): Azure Pipelines refuses to compile these.
    unresolved: list[str] = field(default_factory=list)


class _Expander:
    def __init__(self, superset: bool, repositories: Repositories) -> None:
        self.superset = superset
        # A root pipeline's YAML variables, once its `variables:` (templates included) is expanded.
        self.variables: dict[str, Any] = {}
        self.repositories = repositories
        self.check_variables = False
        self.findings: list[str] = []
        self.unresolved: list[str] = []

    def _undefined_variables(self, text: str, where: str) -> None:
        for expression in EMBEDDED.findall(text):
            for name in _VARIABLE_READ.findall(expression):
                if "." not in name and name not in self.variables:
                    self.findings.append(
                        f"{where}: ${{{{ variables.{name} }}}} reads a variable no YAML variables (nor variables "
                        f"template) defines: empty at compile time (defined: {sorted(self.variables)})"
                    )

    def bind(self, template: Document, passed: Mapping[str, Any], where: str) -> dict[str, Any]:
        declared = declared_parameters(template.data)
        name = template.path.name
        for key in sorted(set(passed) - set(declared)):
            self.findings.append(
                f"{where}: passes parameter '{key}' that {name} does not declare ({sorted(declared)})"
            )
        bound: dict[str, Any] = {}
        for key, spec in declared.items():
            if key in passed:
                problem = type_problem(spec, passed[key])
                if problem:
                    self.findings.append(f"{where}: parameter '{key}' of {name}: {problem}")
                bound[key] = passed[key]
            elif "default" in spec:
                bound[key] = spec["default"]
            else:
                self.findings.append(f"{where}: required parameter '{key}' of {name} is not passed")
                bound[key] = key
        return bound

    def node(self, value: Any, scope: dict[str, Any], base: Path, where: str) -> Any:
        if isinstance(value, str):
            if self.check_variables:
                self._undefined_variables(value, where)
            return substitute(value, scope)
        if isinstance(value, list):
            return self.sequence(value, scope, base, where)
        if isinstance(value, dict):
            return self.mapping(value, scope, base, where)
        return value

    def _condition(self, key: str, scope: dict[str, Any]) -> bool:
        """Whether an `${{ if c }}` / `${{ elseif c }}` branch is kept."""
        if self.superset:
            return True
        try:
            return bool(evaluate(key.strip()[3:-2].strip().split(" ", 1)[1], scope))
        except (Unresolvable, IndexError):
            return True

    def _directives(self, items: list[tuple[str, Any]], scope: dict[str, Any]) -> list[tuple[Any, dict]]:
        """(value, scope) pairs kept by if/elseif/else/each directives, in order."""
        kept: list[tuple[Any, dict]] = []
        previous_taken: bool | None = None
        for key, value in items:
            inner = WHOLE.match(key.strip())
            directive = inner.group(1).strip() if inner else ""
            if directive.startswith("each "):
                var, _, collection = directive[5:].partition(" in ")
                try:
                    values = evaluate(collection, scope)
                except Unresolvable:
                    values = []
                pairs = values.items() if isinstance(values, dict) else enumerate(values or [])
                for k, v in pairs:
                    item = {"key": k, "value": v} if isinstance(values, dict) else v
                    kept.append((value, {**scope, var.strip(): item}))
                previous_taken = None
            elif directive.startswith("if "):
                previous_taken = self._condition(key, scope)
                if previous_taken:
                    kept.append((value, scope))
            elif directive.startswith("elseif ") or directive == "else":
                taken = self.superset or not previous_taken
                if taken and directive != "else":
                    taken = self._condition(key.replace("elseif", "if", 1), scope)
                if taken:
                    kept.append((value, scope))
                    previous_taken = True if not self.superset else previous_taken
        return kept

    def mapping(self, value: dict[str, Any], scope: dict[str, Any], base: Path, where: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        directives: list[tuple[str, Any]] = []
        for key, item in value.items():
            if _is_directive(key):
                directives.append((key, item))
                continue
            for body, inner_scope in self._directives(directives, scope):
                result.update(self.node(body, inner_scope, base, where) or {})
            directives = []
            new_key = substitute(key, scope) if isinstance(key, str) else key
            result[str(new_key)] = self.node(item, scope, base, where)
        for body, inner_scope in self._directives(directives, scope):
            expanded = self.node(body, inner_scope, base, where)
            if isinstance(expanded, dict):
                result.update(expanded)
        return result

    def sequence(self, value: list[Any], scope: dict[str, Any], base: Path, where: str) -> list[Any]:
        result: list[Any] = []
        directives: list[tuple[str, Any]] = []

        def flush() -> None:
            for body, inner_scope in self._directives(directives, scope):
                expanded = self.node(body, inner_scope, base, where)
                result.extend(expanded if isinstance(expanded, list) else [expanded])
            directives.clear()

        for item in value:
            if isinstance(item, dict) and len(item) == 1 and _is_directive(next(iter(item))):
                directives.extend(item.items())
                continue
            flush()
            if isinstance(item, dict) and "template" in item:
                result.extend(self.include(item, scope, base, where))
            else:
                result.append(self.node(item, scope, base, where))
        flush()
        return result

    def include(self, item: dict[str, Any], scope: dict[str, Any], base: Path, where: str) -> list[Any]:
        reference = substitute(str(item["template"]), scope)
        resolved = self.repositories.resolve(reference, base)
        path = resolved.path
        call = f"{where} -> {reference}"
        if path is None or not path.is_file():
            problem = resolved.problem or f"does not resolve to a file ({path})"
            self.findings.append(f"{where}: template '{reference}' {problem}")
            self.unresolved.append(f"template '{reference}': {problem}")
            return []
        template = load(path)
        passed = self.node(item.get("parameters") or {}, scope, base, where)
        bound = self.bind(template, passed, call)
        inner_scope = {"parameters": bound, "variables": self.variables}
        body = self.node(template.data.get(template.kind) or [], inner_scope, path.parent, call)
        return body if isinstance(body, list) else [body]


def expand(
    document: Document, *, superset: bool, repositories: Mapping[str, Path] | None = None
) -> Expansion:
    """Expand `document`; a template gets its defaults, and placeholders for required parameters.

    `repositories`: repository name (as `resources.repositories` declares it) -> local checkout, for
    `template: <path>@<alias>` references.
    """
    pipeline = document.kind == "pipeline"
    declared = declared_repositories(document.data) if pipeline else {}
    expander = _Expander(superset, Repositories(declared, dict(repositories or {})))
    placeholders: set[str] = set()
    params: dict[str, Any] = {}
    for name, spec in declared_parameters(document.data).items():
        if "default" in spec:
            params[name] = spec["default"]
        else:
            placeholder = _PLACEHOLDER_FOR_TYPE.get(spec.get("type", "string"), [])
            params[name] = name if placeholder is None else placeholder
            placeholders.add(name)
    where = str(document.path)
    body = {k: v for k, v in document.data.items() if k not in ("parameters", "variables")}
    expanded: dict[str, Any] = {}
    if "variables" in document.data:
        # Variables templates first: what they define is in scope for every template expression after them.
        scope = {"parameters": params, "variables": {}}
        expanded["variables"] = expander.node(document.data["variables"], scope, document.path.parent, where)
    if pipeline:
        expander.variables = root_variables(expanded)
        expander.check_variables = True
    scope = {"parameters": params, "variables": expander.variables}
    expanded.update(expander.node(body, scope, document.path.parent, where))
    return Expansion(
        body=expanded, findings=expander.findings, placeholders=placeholders, unresolved=expander.unresolved
    )


def template_findings(document: Document, repositories: Mapping[str, Path] | None = None) -> list[str]:
    """Every template-reference, parameter-binding and dependsOn problem of one file."""
    findings = expand(document, superset=True, repositories=repositories).findings
    compiled = expand(document, superset=False, repositories=repositories)
    findings += dependency_findings(compiled.body, compiled.placeholders, str(document.path))
    return sorted(set(findings))
