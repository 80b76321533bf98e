"""Where a `template:` reference points: a file next to the including one, or `path@alias` in a repository the
root pipeline declares under `resources.repositories`, read from a local checkout of that repository.

Azure Pipelines resolves `template: <path>@<alias>` against the repository resource with that alias, `<path>`
from that repository's root, and fails the run before any job starts when the alias is not declared or the file
is not there (https://learn.microsoft.com/azure/devops/pipelines/process/templates#use-other-repositories). Offline,
the caller says which local folder holds each declared repository, by the `name` the resource declares
(`<project>/<repository>` for Azure Repos,
https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/resources-repositories-repository).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SELF = "self"
"""The alias Azure Pipelines gives the repository of the root pipeline itself."""


@dataclass(frozen=True)
class Resolved:
    """A template reference resolved to a file, or why it cannot be."""

    path: Path | None
    problem: str = ""


def declared_repositories(data: Mapping[str, Any]) -> dict[str, str]:
    """Alias -> repository name of a root pipeline's `resources.repositories`."""
    resources = data.get("resources")
    entries = (resources.get("repositories") if isinstance(resources, Mapping) else None) or []
    return {
        str(entry["repository"]): str(entry.get("name", ""))
        for entry in entries
        if isinstance(entry, Mapping) and "repository" in entry
    }


@dataclass(frozen=True)
class Repositories:
    """The repositories a root pipeline declares, and the local checkouts that stand for them."""

    declared: Mapping[str, str]
    """Alias -> repository name, from the root pipeline's `resources.repositories`."""
    checkouts: Mapping[str, Path]
    """Repository name -> local folder holding that repository (`self` for the root pipeline's own)."""

    def resolve(self, reference: str, base: Path) -> Resolved:
        """The file `reference` names when included from a file in `base`."""
        path, at, alias = reference.rpartition("@")
        if not at:
            return Resolved((base / reference).resolve())
        if alias != SELF and alias not in self.declared:
            return Resolved(
                None,
                f"repository alias '{alias}' is not declared in resources.repositories "
                f"(declared: {sorted(self.declared)})",
            )
        name = self.declared.get(alias, SELF)
        checkout = self.checkouts.get(name)
        if checkout is None:
            return Resolved(
                None,
                f"repository '{name}' (alias '{alias}') has no local checkout to read it from: "
                f"pass --repository {name}=PATH",
            )
        root = checkout.resolve()
        target = (root / path.lstrip("/")).resolve()
        if not target.is_relative_to(root):
            return Resolved(None, f"'{path}' leaves repository '{name}'")
        if not target.is_file():
            return Resolved(None, f"'{path}' is not a file in repository '{name}' ({target})")
        return Resolved(target)
