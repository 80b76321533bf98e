"""The architecture diagram of a stack, as Mermaid, generated from the planned resource graph.

Components are subgraphs; an edge is a reference found in the inputs: one resource holding another's
ARM ID (the workspace's `storageAccount`), a child resource under its parent (a compute under its
workspace), or a role assignment, drawn as a dotted edge from the identity it grants to the resource it
is scoped to, labelled with the role. Output is sorted, so the committed docs/architecture-<stack>.md
diff only when the architecture does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.plan.engine import Plan, PlannedResource, mock_principal_id, run_program
from infra.plan.stack_files import load_stack_config
from infra.roles import BuiltInRole

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
DOCS_STACKS = ("dev", "prod")
"""Stacks whose diagram is committed under docs/ (the public and the private network profile)."""


def _node(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _parent_by_id(resource: PlannedResource, by_id: dict[str, PlannedResource]) -> PlannedResource | None:
    """The nearest planned resource whose ARM ID is a prefix of this one's (the resource group aside)."""
    best: PlannedResource | None = None
    for resource_id, candidate in by_id.items():
        if candidate.type == RESOURCE_GROUP or candidate is resource or not resource.resource_id:
            continue
        if resource.resource_id.startswith(resource_id + "/") and (
            best is None or len(resource_id) > len(best.resource_id or "")
        ):
            best = candidate
    return best


def edges(plan: Plan) -> list[tuple[str, str, str, bool]]:
    """(from, to, label, dotted) for every reference between planned resources, sorted."""
    resources = [r for r in plan.resources if r.custom]
    by_id = {r.resource_id: r for r in resources if r.resource_id}
    by_principal = {
        mock_principal_id(r.resource_id): r for r in resources if r.resource_id and "identity" in r.inputs
    }
    roles = {role.value: role.name.replace("_", " ").title() for role in BuiltInRole}
    found: set[tuple[str, str, str, bool]] = set()
    for resource in resources:
        if resource.type == ROLE_ASSIGNMENT:
            principal = str(resource.inputs.get("principalId", ""))
            holder = by_principal.get(principal)
            source = holder.name if holder else f"principal {principal}"
            target = by_id.get(str(resource.inputs.get("scope", "")))
            role = roles.get(str(resource.inputs.get("roleDefinitionId", "")).rsplit("/", 1)[-1], "role")
            if target is not None:
                found.add((source, target.name, role, True))
            continue
        for text in _strings(resource.inputs):
            target = by_id.get(text)
            if target is not None and target is not resource and target.type != RESOURCE_GROUP:
                found.add((resource.name, target.name, "references", False))
        parent = _parent_by_id(resource, by_id)
        if parent is not None:
            found.add((parent.name, resource.name, "contains", False))
    return sorted(found)


def _short_type(resource: PlannedResource) -> str:
    return resource.type.rsplit(":", 1)[-1]


def mermaid(plan: Plan) -> str:
    """The stack's architecture as a Mermaid flowchart."""
    custom = sorted(
        (r for r in plan.resources if r.custom and r.type != ROLE_ASSIGNMENT), key=lambda r: r.name
    )
    components = {r.name: r for r in plan.resources if not r.custom}
    drawn = {r.name for r in custom}
    lines = ["flowchart LR"]
    for group in sorted({r.parent for r in custom}, key=lambda p: p or ""):
        members = [r for r in custom if r.parent == group]
        indent = "    "
        if group is not None:
            kind = components[group].type.rsplit(":", 1)[-1] if group in components else "component"
            lines.append(f'    subgraph {_node("c_" + group)}["{group} ({kind})"]')
            indent = "        "
        for r in members:
            lines.append(f'{indent}{_node(r.name)}["{r.name}<br/><small>{_short_type(r)}</small>"]')
        if group is not None:
            lines.append("    end")
    for source, target, label, dotted in edges(plan):
        if source not in drawn:
            lines.append(f'    {_node(source)}(["{source}"])')
            drawn.add(source)
        arrow = f"-. {label} .->" if dotted else f"-- {label} -->"
        lines.append(f"    {_node(source)} {arrow} {_node(target)}")
    return "\n".join(lines) + "\n"


def render_markdown(plan: Plan) -> str:
    """architecture.md: a heading, how to regenerate it, and the diagram."""
    return (
        f"# Architecture: stack `{plan.stack}`\n\n"
        "Generated by `make diagrams` from the Pulumi program run under the mock engine: components are "
        "boxes, solid edges are ARM ID references and parent-child links, dotted edges are role assignments "
        "(identity to the resource the role is scoped to). Do not edit by hand.\n\n"
        f"```mermaid\n{mermaid(plan)}```\n"
    )


def write_docs(root: Path, stacks: tuple[str, ...] = DOCS_STACKS) -> list[Path]:
    """Regenerate docs/architecture-<stack>.md for `stacks` (`make diagrams`); returns the files written."""
    written = []
    for stack in stacks:
        plan = run_program(stack, load_stack_config(root, stack))
        path = root / "docs" / f"architecture-{stack}.md"
        path.write_text(render_markdown(plan))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_docs(Path.cwd()):
        print(f"wrote {written_path}")
