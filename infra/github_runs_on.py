"""Where a stack's GitHub Actions jobs run: the `runs-on` its outputs hand to the GitHub CD (`AML_RUNS_ON`).

One function for the stack's own output and for the registry owner's (`amlRegistryGithubRunsOn`, derived from the
owner's committed stack file the way the owner derives its own), so the two never disagree.
"""

from __future__ import annotations

from infra.config import StackConfig
from infra.naming import ResourceNames

RunsOn = str | dict[str, str] | list[str]
"""A `runs-on` value: "" (GitHub-hosted: the pipelines' default label), `{"group": ...}` or a list of labels."""


def github_runs_on(config: StackConfig, names: ResourceNames) -> RunsOn:
    """The runner group of GitHub's private networking, the self-hosted runners' labels of the Container Apps
    job (`self-hosted` plus the stack's own label, so no other runner matches), or "" outside any VNet."""
    if config.github_private_networking:
        return {"group": str(config.github_runner_group)}
    if config.github_container_apps:
        return ["self-hosted", names.github_runner_label]
    return ""
