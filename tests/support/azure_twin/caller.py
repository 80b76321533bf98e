"""Where a call comes from: the agent that runs the job, derived from the job's `pool` in the expanded YAML, or
from a GitHub job's `runs-on`.

`vmImage: ...` (or no pool) is a Microsoft-hosted agent, outside every VNet. `name: <pool>` is a self-hosted pool;
it is inside a stack's VNet when it equals that stack's `agentPoolName` output (a Managed DevOps Pool injected
into the stack's VNet). In GitHub Actions a label (`ubuntu-24.04`) is a GitHub-hosted runner, outside every VNet;
`{group: <name>}` is inside a stack's VNet when it equals that stack's `githubRunnerGroup` output (GitHub-hosted
runners with Azure private networking). A private resource is reachable only from a VNet with a private endpoint
to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .model import AzureTwin, StackTwin

POOL_VARIABLE = "AZURE_TWIN_CALLER_POOL"
IMAGE_VARIABLE = "AZURE_TWIN_CALLER_IMAGE"
GROUP_VARIABLE = "AZURE_TWIN_CALLER_RUNNER_GROUP"
DEFAULT_IMAGE = "ubuntu-latest"
"""What Azure Pipelines runs a job on when YAML names no pool (the hosted Azure Pipelines pool)."""
HOSTED_POOL = "Azure Pipelines"
"""The name of Azure Pipelines' Microsoft-hosted pool: `name: Azure Pipelines` is a hosted agent too."""


@dataclass(frozen=True)
class Caller:
    """A Microsoft-hosted agent or GitHub-hosted runner (`vm_image`), an agent of the pool `pool`, or a runner of
    the GitHub runner group `runner_group`."""

    pool: str = ""
    vm_image: str = ""
    runner_group: str = ""

    @classmethod
    def from_pool(cls, pool: Any) -> Caller:
        """The caller for a job's `pool:` value (a mapping, a pool name, or None)."""
        if isinstance(pool, str):
            pool = {"name": pool}
        if not isinstance(pool, dict):
            return cls(vm_image=DEFAULT_IMAGE)
        name, image = str(pool.get("name") or ""), str(pool.get("vmImage") or "")
        if name and name != HOSTED_POOL:
            return cls(pool=name)
        return cls(vm_image=image or DEFAULT_IMAGE)

    @classmethod
    def from_runs_on(cls, runs_on: Any) -> Caller:
        """The caller for a GitHub job's evaluated `runs-on`: a label, a list of labels, or {group, labels}."""
        if isinstance(runs_on, dict) and runs_on.get("group"):
            return cls(runner_group=str(runs_on["group"]))
        if isinstance(runs_on, list):
            return cls(pool=next(str(label) for label in runs_on if label != "self-hosted"))
        return cls(vm_image=str(runs_on))

    @classmethod
    def from_env(cls) -> Caller:
        return cls(
            pool=os.environ.get(POOL_VARIABLE, ""),
            vm_image=os.environ.get(IMAGE_VARIABLE, ""),
            runner_group=os.environ.get(GROUP_VARIABLE, ""),
        )

    def env(self) -> dict[str, str]:
        return {POOL_VARIABLE: self.pool, IMAGE_VARIABLE: self.vm_image, GROUP_VARIABLE: self.runner_group}

    def __str__(self) -> str:
        if self.runner_group:
            return f"GitHub runner group {self.runner_group!r}"
        return f"agent pool {self.pool!r}" if self.pool else f"Microsoft-hosted agent ({self.vm_image})"

    def networks(self, twin: AzureTwin) -> list[StackTwin]:
        """The stacks whose VNet this agent runs in."""
        output, wanted = (
            ("githubRunnerGroup", self.runner_group) if self.runner_group else ("agentPoolName", self.pool)
        )
        if not wanted:
            return []
        return [s for s in twin.deployed() if s.outputs.get(output) and s.outputs[output] == wanted]

    def reaches(self, twin: AzureTwin, resource_id: str, *, public: bool) -> bool:
        """Whether this agent reaches the data plane of `resource_id`."""
        if public:
            return True
        wanted = resource_id.casefold()
        return any(
            wanted in {t.casefold() for t in stack.private_link_targets} for stack in self.networks(twin)
        )
