"""House rules for pipeline YAML: failures stay loud, tasks are pinned, secrets never reach a command line."""

import re
from collections.abc import Iterator
from typing import Any

from pipelines.validation.documents import Document

_PINNED_TASK = re.compile(r"^[A-Za-z0-9_.-]+@\d+$")
# Step keys and task inputs whose text becomes a command line or script body.
_SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")
_SCRIPT_INPUTS = ("inlineScript", "script", "arguments", "scriptArguments")
# A macro or template value whose name says it holds a secret.
_SECRET_REFERENCE = re.compile(
    r"(\$\(|\$\{\{\s*parameters\.|\$\[\s*variables\.)[^)}\]]*(secret|token|password|passwd|pat|apikey|key)\b",
    re.IGNORECASE,
)


def _mappings(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _mappings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _mappings(value, f"{path}[{index}]")


def _script_texts(step: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key in _SCRIPT_KEYS:
        if isinstance(step.get(key), str):
            yield key, step[key]
    inputs = step.get("inputs")
    if isinstance(inputs, dict):
        for key in _SCRIPT_INPUTS:
            if isinstance(inputs.get(key), str):
                yield f"inputs.{key}", inputs[key]
    # A template parameter whose value is spliced into a script (e.g. aml-script.yml `arguments`).
    parameters = step.get("parameters")
    if "template" in step and isinstance(parameters, dict) and isinstance(parameters.get("arguments"), str):
        yield "parameters.arguments", parameters["arguments"]


def rule_findings(document: Document) -> list[str]:
    """continueOnError: true anywhere, unpinned tasks, and secret-looking references in script text."""
    findings = []
    where = str(document.path)
    for path, mapping in _mappings(document.data):
        if str(mapping.get("continueOnError", "false")).casefold() == "true":
            findings.append(
                f"{where}: {path}: continueOnError: true turns a failure into 'succeeded with issues'"
            )
        task = mapping.get("task")
        if isinstance(task, str) and not _PINNED_TASK.match(task):
            findings.append(f"{where}: {path}: task {task!r} is not pinned to a major version (Name@N)")
        for key, text in _script_texts(mapping):
            for match in _SECRET_REFERENCE.finditer(text):
                findings.append(
                    f"{where}: {path}.{key}: {match.group(0)!r} is a secret on a command line: map it via env"
                )
    return findings
