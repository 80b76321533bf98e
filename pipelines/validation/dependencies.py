"""Check an expanded pipeline's stage and job names: each defined once, and every `dependsOn` naming one of the
same list (what the schema cannot check)."""

from collections.abc import Collection
from typing import Any

from pipelines.validation.expressions import unresolved


def _names(items: list[Any], keys: tuple[str, ...]) -> list[str]:
    return [str(item[key]) for item in items if isinstance(item, dict) for key in keys if key in item]


def _targets(depends_on: Any) -> list[str]:
    if depends_on in (None, "", []):
        return []
    return [str(t) for t in (depends_on if isinstance(depends_on, list) else [depends_on])]


def dependency_findings(body: Any, placeholders: Collection[str], where: str) -> list[str]:
    """Duplicate stage/job names and `dependsOn` targets missing from the same list, in an expanded `body`
    (`placeholders`: parameter values standing for whatever a caller passes, e.g. an external job name)."""
    findings: list[str] = []

    def check(items: list[Any], keys: tuple[str, ...], what: str) -> None:
        names = _names(items, keys)
        for name in sorted({n for n in names if names.count(n) > 1}):
            findings.append(f"{where}: {what} name '{name}' is defined more than once")
        for item in items:
            if not isinstance(item, dict):
                continue
            owner = next((str(item[k]) for k in keys if k in item), "?")
            for target in _targets(item.get("dependsOn")):
                if target in names or target in placeholders or unresolved(target):
                    continue
                findings.append(f"{where}: {what} '{owner}' dependsOn '{target}', which is not among {names}")

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("stages"), list):
                check(node["stages"], ("stage",), "stage")
            if isinstance(node.get("jobs"), list):
                check(node["jobs"], ("job", "deployment"), "job")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body)
    return findings
