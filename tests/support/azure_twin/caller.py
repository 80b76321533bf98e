"""Where a call comes from: the agent that runs the job, derived from the job's `pool` in the expanded YAML, or
from a GitHub job's `runs-on`.

`vmImage: ...` (or no pool) is a Microsoft-hosted agent, outside every VNet. `name: <pool>` is a self-hosted pool;
it is inside a stack's VNet when it equals that stack's `agentPoolName` output (a Managed DevOps Pool injected
into the stack's VNet). In GitHub Actions a label (`ubuntu-24.04`) is a GitHub-hosted runner, outside every VNet;
`{group: <name>}` is inside a stack's VNet when it equals that stack's `githubRunnerGroup` output (GitHub-hosted
runners with Azure private networking); a list of labels is a self-hosted runner that has all of them, inside the
VNet of the stack whose `githubRunsOn` output lists its runners' labels (a Container Apps job in the VNet; a
runner also has the default labels `self-hosted`, `linux` and `x64`). A private resource is reachable only from
a VNet with a private endpoint to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .model import AzureTwin, StackTwin

POOL_VARIABLE = "AZURE_TWIN_CALLER_POOL"
IMAGE_VARIABLE = "AZURE_TWIN_CALLER_IMAGE"
GROUP_VARIABLE = "AZURE_TWIN_CALLER_RUNNER_GROUP"
LABELS_VARIABLE = "AZURE_TWIN_CALLER_RUNNER_LABELS"
DEFAULT_RUNNER_LABELS = frozenset({"self-hosted", "linux", "x64"})
"""The labels every self-hosted Linux x64 runner has besides its own
(https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/using-labels-with-self-hosted-runners)."""
DEFAULT_IMAGE = "ubuntu-latest"
"""What Azure Pipelines runs a job on when YAML names no pool (the hosted Azure Pipelines pool)."""
HOSTED_POOL = "Azure Pipelines"
"""The name of Azure Pipelines' Microsoft-hosted pool: `name: Azure Pipelines` is a hosted agent too."""


@dataclass(frozen=True)
class Caller:
    """A Microsoft-hosted agent or GitHub-hosted runner (`vm_image`), an agent of the pool `pool`, a runner of
    the GitHub runner group `runner_group`, or a self-hosted GitHub runner with `runner_labels`."""

    pool: str = ""
    vm_image: str = ""
    runner_group: str = ""
    runner_labels: tuple[str, ...] = ()

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
        if isinstance(runs_on, dict) and runs_on.get("labels"):
            runs_on = runs_on["labels"]
        if isinstance(runs_on, list) and len(runs_on) == 1:
            runs_on = runs_on[0]  # one label: a GitHub-hosted image name, or `self-hosted` alone
        if isinstance(runs_on, list) or runs_on == "self-hosted":
            return cls(
                runner_labels=tuple(
                    str(label) for label in ([runs_on] if isinstance(runs_on, str) else runs_on)
                )
            )
        return cls(vm_image=str(runs_on))

    @classmethod
    def from_env(cls) -> Caller:
        return cls(
            pool=os.environ.get(POOL_VARIABLE, ""),
            vm_image=os.environ.get(IMAGE_VARIABLE, ""),
            runner_group=os.environ.get(GROUP_VARIABLE, ""),
            runner_labels=tuple(label for label in os.environ.get(LABELS_VARIABLE, "").split(",") if label),
        )

    def env(self) -> dict[str, str]:
        return {
            POOL_VARIABLE: self.pool,
            IMAGE_VARIABLE: self.vm_image,
            GROUP_VARIABLE: self.runner_group,
            LABELS_VARIABLE: ",".join(self.runner_labels),
        }

    def __str__(self) -> str:
        if self.runner_group:
            return f"GitHub runner group {self.runner_group!r}"
        if self.runner_labels:
            return f"self-hosted GitHub runner {list(self.runner_labels)!r}"
        return f"agent pool {self.pool!r}" if self.pool else f"Microsoft-hosted agent ({self.vm_image})"

    def networks(self, twin: AzureTwin) -> list[StackTwin]:
        """The stacks whose VNet this agent runs in."""
        if self.runner_labels:
            # A job runs on a runner that has every label it asks for; a stack's runners have its `githubRunsOn`
            # labels and the defaults.
            wanted_labels = set(self.runner_labels)
            return [
                s
                for s in twin.deployed()
                if isinstance(runs_on := s.outputs.get("githubRunsOn"), list)
                and wanted_labels <= set(runs_on) | DEFAULT_RUNNER_LABELS
            ]
        if self.runner_group:
            return [s for s in twin.deployed() if s.outputs.get("githubRunnerGroup") == self.runner_group]
        if not self.pool:
            return []
        # A pool runs jobs once it exists: after a targeted `pulumi up` of it too (the stack's first deploy).
        return [
            s
            for s in twin.stacks.values()
            if any(p.name == self.pool and s.exists(p.urn) for p in s.agent_pools)
            or (s.deployed and s.outputs.get("agentPoolName") == self.pool)
        ]

    def reaches(self, twin: AzureTwin, resource_id: str, *, public: bool) -> bool:
        """Whether this agent reaches the data plane of `resource_id`."""
        if public:
            return True
        wanted = resource_id.casefold()
        return any(
            wanted in {t.casefold() for t in stack.reachable_targets()} for stack in self.networks(twin)
        )
