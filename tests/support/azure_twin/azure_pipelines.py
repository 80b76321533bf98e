"""Run an Azure Pipelines YAML against the twin: stages, jobs and steps in the expanded YAML's own order.

Templates and parameters are expanded by `pipelines.validation.templates.expand` (the same code the pipeline
checks use), `<path>@<alias>` templates from the local checkouts given for the repositories the pipeline declares;
a template that resolves to no file fails the run before any job starts, as Azure DevOps fails it
(`CompileError`). Each job's caller comes from its `pool`. Variables come from the YAML, the stacks' variable groups
(`variables.group_variables`), predefined build variables and earlier steps' `##vso[task.setvariable]` output;
`$(...)` macros and `$[ ... ]` runtime expressions are resolved as Azure Pipelines does. AzureCLI@2 and bash
steps run in bash with `python`, `az` and `pulumi` answered by the twin (`shims`); steps that only prepare the
agent are skipped, each for a stated reason; DownloadSecureFile@1 hands over a secure file the twin's Library holds
(`AzureTwin.secure_files`); steps whose `condition` is false are skipped; any other step kind fails the run.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from pipelines.scripts.errors import PipelineScriptError
from pipelines.validation import expressions
from pipelines.validation.documents import Document, load
from pipelines.validation.expressions import evaluate
from pipelines.validation.templates import expand

from .agent import install_wrappers, run_bash
from .caller import Caller
from .model import AzureTwin
from .run import PipelineRun, StepRun
from .variables import GROUP_PREFIX, group_variables

INFRA_STATE = {
    "PULUMI_STATE_STORAGE_ACCOUNT": "stmlopsstate001",
    "PULUMI_STATE_CONTAINER": "pulumi-state",
    "PULUMI_SECRETS_PROVIDER": "azurekeyvault://kv-mlops-state.vault.azure.net/keys/pulumi",
}
"""The `mlops-infra-state` group (pipelines/README.md's examples): the state backend, no Azure ML resource."""
SKIPPED_TASKS = {
    "UsePythonVersion@0": "selects the agent's Python",
    "Cache@2": "agent cache",
    "PublishPipelineArtifact@1": "artifact upload to Azure DevOps",
    "DownloadPipelineArtifact@2": "artifact download from Azure DevOps",
    "PublishTestResults@2": "test report upload to Azure DevOps",
}
SKIPPED_SCRIPTS = {
    r"^uv cache key": "prepares the agent's package cache",
    r"^uv sync$": "installs the project on the agent",
    r"^Install Pulumi CLI": "installs the Pulumi CLI (the twin answers `pulumi`)",
    r"^Policy gate - ": "offline policy gate (tests/policy runs it)",
    r"^pytest$": "the project's own tests",
}
_MACRO = re.compile(r"\$\(([A-Za-z0-9_.\-]+)\)")
_RUNTIME = re.compile(r"^\$\[(.*)\]$", re.DOTALL)
_SETVARIABLE = re.compile(r"^##vso\[task\.setvariable variable=([^;\]]+)((?:;[^\]]*)?)\](.*)$")


class CompileError(Exception):
    """Azure DevOps could not compile the YAML (a template it cannot find): the run fails before any job starts."""


def expanded(
    path: Path, parameters: dict[str, Any] | None = None, repositories: dict[str, Path] | None = None
) -> dict[str, Any]:
    """The pipeline at `path` expanded with `parameters` in place of their defaults; `repositories`: repository
    name -> local checkout, for the repository resources the pipeline declares."""
    document = load(path)
    data = dict(document.data)
    data["parameters"] = [
        {**spec, "default": (parameters or {}).get(spec["name"], spec.get("default"))}
        for spec in data.get("parameters") or []
    ]
    # Azure Pipelines' convertToJson (indented JSON), which the static checks' evaluator leaves unresolved: lent to
    # the evaluator for this expansion only, so the checks keep their own behaviour.
    expressions.FUNCTIONS["convertToJson"] = lambda value: json.dumps(value, indent=2)
    try:
        expansion = expand(
            Document(path=document.path, data=data, kind=document.kind),
            superset=False,
            repositories=repositories,
        )
    finally:
        del expressions.FUNCTIONS["convertToJson"]
    if expansion.unresolved:
        raise CompileError(f"{path}: " + "; ".join(expansion.unresolved))
    return expansion.body


def _quote(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class Runner:
    """Runs one expanded pipeline against `twin`, from the project folder `project`."""

    def __init__(self, twin: AzureTwin, project: Path, *, build_reason: str = "IndividualCI") -> None:
        self.twin = twin
        self.project = project
        self.scratch = Path(tempfile.mkdtemp(prefix="azure-twin-"))
        # The run's agent folders and state go with the runner: a suite creates hundreds of them.
        weakref.finalize(self, shutil.rmtree, self.scratch, ignore_errors=True)
        self.state = self.scratch / "twin.json"
        self.bin = install_wrappers(self.scratch / "bin")
        self.predefined = {
            "Build.SourceBranch": "refs/heads/main",
            "Build.Reason": build_reason,
            "Build.BuildId": "4242",
            "Build.SourceVersion": "0123456789abcdef0123456789abcdef01234567",
            "Build.RequestedForEmail": "release.manager@contoso.com",
            "Build.SourcesDirectory": str(project),
            "Build.ArtifactStagingDirectory": str(self.scratch / "staging"),
            "Pipeline.Workspace": str(self.scratch / "workspace"),
            "Agent.TempDirectory": str(self.scratch / "tmp"),
            "Agent.OS": "Linux",
            # checkov:skip=CKV_SECRET_6: the twin's stand-in for the job's System.AccessToken, a fixed word, not a secret
            "System.AccessToken": "job-access-token",
            "System.CollectionUri": "https://dev.azure.com/contoso/",
            "System.TeamProjectId": "5f1b0e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
            "TF_BUILD": "True",  # every agent sets it: scripts tell Azure Pipelines from other CI by it
        }
        self.run = PipelineRun()

    # Variables.
    def _groups(self, entries: Any) -> dict[str, str]:
        values: dict[str, str] = {}
        items = entries.items() if isinstance(entries, dict) else [(None, e) for e in entries or []]
        for key, entry in items:
            if key is not None:
                values[key] = str(entry)
            elif "group" in entry:
                values.update(self._group(str(entry["group"])))
            elif "name" in entry:
                values[str(entry["name"])] = str(entry.get("value", ""))
        return values

    def _group(self, name: str) -> dict[str, str]:
        if name == "mlops-infra-state":
            return dict(INFRA_STATE)
        stack = name.removeprefix(GROUP_PREFIX)
        if not name.startswith(GROUP_PREFIX) or stack not in self.twin.stacks:
            msg = (
                f"variable group {name!r} could not be found (the twin has stacks {sorted(self.twin.stacks)})"
            )
            raise LookupError(msg)
        written = AzureTwin.load(self.state).variable_groups.get(name) if self.state.exists() else None
        if written is not None:  # what the infra pipeline wrote into the Library
            return {key: str(v.get("value", "")) for key, v in (written.get("variables") or {}).items()}
        return group_variables(self.twin.stacks[stack].outputs) if self.twin.stacks[stack].deployed else {}

    def _macros(self, text: str, scope: dict[str, str]) -> str:
        return _MACRO.sub(lambda m: scope.get(m.group(1), m.group(0)), text)

    def _expression(self, text: str, scope: dict[str, str], stage: str, deps: list[str]) -> Any:
        """A runtime expression (`$[ ]` or a condition), with dependencies and status functions resolved."""

        def output(match: re.Match[str]) -> str:
            kind, first, second, key = match.groups()
            job = second if kind == "stageDependencies" else first
            where = first if kind == "stageDependencies" else stage
            return _quote(self.run.outputs.get(f"{where}.{job}", {}).get(key, ""))

        text = re.sub(
            r"(stageDependencies|dependencies)\.(\w+)(?:\.(\w+))?\.outputs\['([^']+)'\]", output, text
        )
        text = re.sub(r"dependencies\.(\w+)\.result", lambda m: _quote(self._result(stage, m.group(1))), text)
        text = re.sub(r"variables\['([^']+)'\]", lambda m: _quote(scope.get(m.group(1), "")), text)
        results = [self._result(stage, d) for d in deps]
        # succeeded(): every dependency succeeded (a skipped one does not count); failed(): one of them failed.
        text = text.replace("succeeded()", "true" if all(r == "Succeeded" for r in results) else "false")
        text = text.replace("failed()", "true" if "Failed" in results else "false")
        text = text.replace("canceled()", "false").replace("always()", "true")
        return evaluate(text, {})

    def _result(self, stage: str, job: str) -> str:
        return self.run.results.get(f"{stage}.{job}", "Skipped")

    # Running.
    def run_pipeline(self, body: dict[str, Any]) -> PipelineRun:
        self.twin.save(self.state)
        root = self._groups(body.get("variables"))
        previous: list[str] = []
        stage_results: dict[str, str] = {}
        for stage in body.get("stages") or []:
            name = str(stage["stage"])
            depends = stage.get("dependsOn", previous)
            depends = [depends] if isinstance(depends, str) else list(depends)
            previous = [name]
            scope = {**self.predefined, **root}
            ready = all(stage_results.get(d) == "Succeeded" for d in depends)
            condition = stage.get("condition")
            if condition is not None:
                ready = bool(self._stage_condition(str(condition), scope, stage_results, depends))
            if not ready:
                stage_results[name] = "Skipped"
                continue
            try:
                scope.update(self._groups(stage.get("variables")))
            except (
                LookupError,
                PipelineScriptError,
            ) as err:  # an unreadable group fails the stage, as in Azure DevOps
                self.run.steps.append(StepRun(name, "variables", "", 1, f"{type(err).__name__}: {err}"))
                stage_results[name] = "Failed"
                continue
            stage_results[name] = self._run_stage(name, stage, scope)
        self.twin.reload(self.state)  # what the steps' processes left there
        return self.run

    def _stage_condition(
        self, condition: str, scope: dict[str, str], results: dict[str, str], deps: list[str]
    ) -> Any:
        ok = all(results.get(d) == "Succeeded" for d in deps)
        text = condition.replace("succeeded()", "true" if ok else "false")
        text = re.sub(r"variables\['([^']+)'\]", lambda m: _quote(scope.get(m.group(1), "")), text)
        return evaluate(text, {})

    def _run_stage(self, stage: str, body: dict[str, Any], scope: dict[str, str]) -> str:
        for job in body.get("jobs") or []:
            name = str(job.get("job") or job.get("deployment"))
            depends = job.get("dependsOn") or []
            depends = [depends] if isinstance(depends, str) else list(depends)
            condition = str(job.get("condition") or "succeeded()")
            if not self._expression(condition, scope, stage, depends):
                self.run.results[f"{stage}.{name}"] = "Skipped"
                continue
            self.run.results[f"{stage}.{name}"] = self._run_job(stage, name, job, dict(scope), depends)
        return (
            "Failed"
            if any(r == "Failed" for k, r in self.run.results.items() if k.startswith(f"{stage}."))
            else "Succeeded"
        )

    def _run_job(
        self, stage: str, name: str, job: dict[str, Any], scope: dict[str, str], depends: list[str]
    ) -> str:
        for key, value in self._groups(job.get("variables")).items():
            runtime = _RUNTIME.match(value.strip())
            scope[key] = (
                str(self._expression(runtime.group(1), scope, stage, depends))
                if runtime
                else self._macros(value, scope)
            )
        pool = job.get("pool")
        caller = Caller.from_pool(
            {k: self._macros(str(v), scope) for k, v in pool.items()} if isinstance(pool, dict) else pool
        )
        self.run.callers[f"{stage}.{name}"] = str(caller)
        steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
        outputs = self.run.outputs.setdefault(f"{stage}.{name}", {})
        # Secure files are resources the job is authorized for when it starts, whatever its steps' conditions.
        for step in steps:
            if step.get("task") == "DownloadSecureFile@1" and self._secure_file_missing(
                name, step, scope, caller
            ):
                return "Failed"
        for step in steps:
            code = self._run_step(stage, name, step, scope, caller, outputs, deployment="deployment" in job)
            if code:
                return "Failed"
        return "Succeeded"

    def _skip_reason(self, step: dict[str, Any]) -> str | None:
        if "checkout" in step or "download" in step:
            return "source checkout / artifact download on the agent"
        if "task" in step and step["task"] in SKIPPED_TASKS:
            return SKIPPED_TASKS[step["task"]]
        label = str(step.get("displayName", ""))
        return next((why for pattern, why in SKIPPED_SCRIPTS.items() if re.search(pattern, label)), None)

    def _run_step(self, stage: str, job: str, step: dict[str, Any], scope: dict[str, str], caller: Caller,
                  outputs: dict[str, str], *, deployment: bool) -> int:  # fmt: skip
        label = str(step.get("displayName") or step.get("name") or step.get("task") or "step")
        reason = self._skip_reason(step)
        if reason is None and not self._step_condition(str(step.get("condition") or "succeeded()"), scope):
            reason = f"condition {step['condition']!r} is false"
        if reason is not None:
            self.run.steps.append(StepRun(job, label, str(caller), None, skipped_because=reason))
            return 0
        if step.get("task") == "DownloadSecureFile@1":
            return self._download_secure_file(job, label, step, scope, caller)
        if step.get("task") == "AzureCLI@2":
            script = str(step["inputs"]["inlineScript"])
            workdir = str(step["inputs"].get("workingDirectory") or self.project)
        elif "bash" in step:
            script, workdir = str(step["bash"]), str(step.get("workingDirectory") or self.project)
        else:
            msg = f"{stage}/{job}: the twin does not know how to run step {label!r} ({sorted(step)})"
            raise NotImplementedError(msg)
        env = {k.upper().replace(".", "_"): v for k, v in scope.items()}
        env.update({str(k): self._macros(str(v), scope) for k, v in (step.get("env") or {}).items()})
        env.update(
            {  # what AzureCLI@2 with addSpnToEnvironment gives the script (workload identity federation)
                "servicePrincipalId": "00000000-0000-0000-0000-00000000c0de",
                "tenantId": "0c5a9e1f-7b2d-4e3a-8f6c-1d2e3f4a5b6c",
                "idToken": "federated-token",
            }
        )
        for folder in ("staging", "workspace", "tmp"):
            (self.scratch / folder).mkdir(exist_ok=True)
        done = run_bash(
            self._macros(script, scope), cwd=self._macros(workdir, scope), env=env, caller=caller,
            bin_dir=self.bin, state=self.state, home=self.scratch,
        )  # fmt: skip
        text = done.stdout + done.stderr
        self.run.steps.append(StepRun(job, label, str(caller), done.returncode, text))
        for line in done.stdout.splitlines():
            if match := _SETVARIABLE.match(line.strip()):
                variable, flags, value = match.groups()
                if "isOutput=true" in flags and step.get("name"):
                    outputs[f"{step['name']}.{variable}"] = value
                    scope[f"{step['name']}.{variable}"] = value  # later steps of the job: $(step.variable)
                    if deployment:
                        outputs[f"{job}.{step['name']}.{variable}"] = value
                else:
                    scope[variable] = value
        return done.returncode

    def _step_condition(self, condition: str, scope: dict[str, str]) -> Any:
        """A step's condition: the job's earlier steps all succeeded (a failed step ends the job here)."""
        text = condition.replace("succeeded()", "true").replace("failed()", "false")
        text = text.replace("canceled()", "false").replace("always()", "true")
        text = re.sub(r"variables\['([^']+)'\]", lambda m: _quote(scope.get(m.group(1), "")), text)
        return evaluate(text, {})

    def _secure_file_missing(
        self, job: str, step: dict[str, Any], scope: dict[str, str], caller: Caller
    ) -> bool:
        name = self._macros(str(step["inputs"]["secureFile"]), scope)
        if name in self.twin.secure_files:
            return False
        message = (
            f"##[error]There was a resource authorization issue: Step {step.get('name')} input secureFile "
            f"references secure file {name} which could not be found. The secure file does not exist or has "
            "not been authorized for use."
        )
        self.run.steps.append(StepRun(job, "resource authorization", str(caller), 1, message))
        return True

    def _download_secure_file(self, job: str, label: str, step: dict[str, Any], scope: dict[str, str],
                              caller: Caller) -> int:  # fmt: skip
        """DownloadSecureFile@1: the Library's secure file into the agent's temp folder, its path as
        `$(<step name>.secureFilePath)` (a file nobody uploaded already failed the job: `_secure_file_missing`)."""
        name = self._macros(str(step["inputs"]["secureFile"]), scope)
        (self.scratch / "tmp").mkdir(exist_ok=True)
        target = self.scratch / "tmp" / name
        target.write_text(self.twin.secure_files[name], encoding="utf-8")
        target.chmod(0o600)
        scope[f"{step.get('name')}.secureFilePath"] = str(target)
        self.run.steps.append(StepRun(job, label, str(caller), 0, f"Downloaded {name}"))
        return 0


def run_azure_pipeline(path: Path, twin: AzureTwin, project: Path, parameters: dict[str, Any] | None = None,
                       *, build_reason: str = "IndividualCI",
                       repositories: dict[str, Path] | None = None) -> PipelineRun:  # fmt: skip
    """Run the pipeline at `path` (expanded with `parameters`, its repository resources read from `repositories`)
    from `project` against `twin` (changed in place)."""
    body = expanded(path, parameters, repositories)
    return Runner(twin, project, build_reason=build_reason).run_pipeline(body)
