"""Run a generated project's GitHub Actions workflow against the twin: jobs in `needs` order (reusable workflows
called with their inputs), steps in order, `${{ }}` expressions and `$GITHUB_OUTPUT` as GitHub Actions handles
them. Each GitHub environment's variables are its stack's variable group (`variables.group_variables`); each
job's caller comes from `runs-on` (a GitHub-hosted label is outside every VNet; a runner group is inside the VNet
of the stack whose `githubRunnerGroup` output names it; a self-hosted runner label is the pool of that name)."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import yaml

from pipelines.scripts.errors import PipelineScriptError

from .agent import install_wrappers, run_bash, wrapper
from .caller import Caller
from .model import AzureTwin
from .run import PipelineRun, StepRun
from .variables import group_variables

ENVIRONMENT_STACKS = {"dev": "dev", "promotion": "dev", "staging": "staging", "prod": "prod"}
"""GitHub environment -> stack: the generated README has `dev` and `promotion` both name the dev workspace."""
PROJECT_VARIABLES = {
    "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000c0de",
    "AZURE_TENANT_ID": "0c5a9e1f-7b2d-4e3a-8f6c-1d2e3f4a5b6c",
    "BATCH_SCORING_INPUT": "azureml://datastores/datalake/paths/scoring/",
}
"""Environment variables the project's README asks for beyond the stack's (BATCH_SCORING_INPUT: its example)."""
SKIPPED_ACTIONS = {
    "actions/checkout": "source checkout on the runner",
    "./.github/actions/azure-python": "installs the project and signs in with azure/login (OIDC)",
    "azure/login": "signs in with OIDC (the twin asks for no token)",
}
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<name>[A-Za-z_][\w.-]*))"
)


class _Expression:
    """GitHub Actions expressions: literals, context paths, ==, !=, &&, ||, !, the status functions, fromJSON."""

    def __init__(self, text: str, context: dict[str, Any], status: dict[str, bool]) -> None:
        self.tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(text) if m.lastgroup]
        self.pos, self.context, self.status = 0, context, status

    def parse(self) -> Any:
        value = self._or()
        if self.pos != len(self.tokens):
            raise ValueError(f"cannot read expression {self.tokens}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _chain(self, op: str, operand: Any, combine: Any) -> Any:
        value = operand()
        while self._peek() == op:
            self.pos += 1
            value = combine(value, operand())
        return value

    def _or(self) -> Any:
        return self._chain("||", self._and, lambda left, right: left or right)

    def _and(self) -> Any:
        return self._chain("&&", self._not, lambda left, right: left and right)

    def _not(self) -> Any:
        if self._peek() == "!":
            self.pos += 1
            return not self._not()
        left = self._primary()
        if self._peek() in ("==", "!="):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self._primary()
            same = (
                str(left).casefold() == str(right).casefold()
                if left is not None and right is not None
                else left == right
            )
            return same if op == "==" else not same
        return left

    def _primary(self) -> Any:
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if text == "(":
            value = self._or()
            self.pos += 1
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text == "fromJSON" and self._peek() == "(":
            self.pos += 1
            argument = self._or()
            self.pos += 1  # ")"
            return json.loads(str(argument))
        if self._peek() == "(":
            self.pos += 2  # the status functions take no arguments
            return self.status[text]
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        value: Any = self.context
        for part in text.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value


def _text(value: Any) -> str:
    return "" if value is None else ("true" if value is True else "false" if value is False else str(value))


class WorkflowRunner:
    """Runs workflows of the project at `project` against `twin`."""

    def __init__(self, twin: AzureTwin, project: Path) -> None:
        self.twin, self.project = twin, project
        self.scratch = Path(tempfile.mkdtemp(prefix="azure-twin-gha-"))
        # The run's agent folders and state go with the runner: a suite creates hundreds of them.
        weakref.finalize(self, shutil.rmtree, self.scratch, ignore_errors=True)
        self.state = self.scratch / "twin.json"
        self.bin = install_wrappers(self.scratch / "bin")
        wrapper(project / ".venv" / "bin" / "python", "python")  # the workflows call .venv/bin/python
        wrapper(project / ".tools" / "bin" / "uv", "uv")  # ... and the uv the composite action installs
        self.run = PipelineRun()
        self.github = {
            "ref": "refs/heads/main",
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "actor": "release-manager",
        }

    def _vars(self, environment: str) -> dict[str, str]:
        stack = self.twin.stacks[ENVIRONMENT_STACKS[environment]]
        return {
            **PROJECT_VARIABLES,
            **(group_variables(stack.outputs, github=True) if stack.deployed else {}),
        }

    def _eval(self, text: str, context: dict[str, Any], status: dict[str, bool]) -> Any:
        stripped = text.strip()
        whole = _EXPRESSION.fullmatch(stripped)
        return _Expression(whole.group(1) if whole else stripped, context, status).parse()

    def _substitute(self, value: Any, context: dict[str, Any]) -> str:
        return _EXPRESSION.sub(lambda m: _text(_Expression(m.group(1), context, {}).parse()), str(value))

    def run_workflow(self, path: Path, inputs: dict[str, Any] | None = None, prefix: str = "") -> PipelineRun:
        self.twin.save(self.state)
        self._workflow(path, inputs or {}, prefix)
        self.twin.reload(self.state)  # what the steps' processes left there
        return self.run

    def _workflow(self, path: Path, inputs: dict[str, Any], prefix: str) -> bool:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        results: dict[str, str] = {}
        outputs: dict[str, dict[str, str]] = {}
        base = {"github": self.github, "inputs": inputs, "env": {}}
        base["env"] = {k: self._substitute(v, base) for k, v in (workflow.get("env") or {}).items()}
        for name, job in workflow["jobs"].items():
            needs = job.get("needs") or []
            needs = [needs] if isinstance(needs, str) else needs
            context = {
                **base,
                "needs": {
                    n: {"result": results.get(n, "skipped"), "outputs": outputs.get(n, {})} for n in needs
                },
            }
            status = {
                "success": all(results.get(n) == "success" for n in needs),
                "failure": any(results.get(n) == "failure" for n in needs),
                "cancelled": False,
                "always": True,
            }
            if not self._eval(str(job.get("if", "success()")), context, status):
                results[name] = "skipped"
                continue
            if "uses" in job:
                called = {k: self._substitute(v, context) for k, v in (job.get("with") or {}).items()}
                ok = self._workflow(
                    self.project / str(job["uses"]).removeprefix("./"), called, f"{prefix}{name}/"
                )
                results[name] = "success" if ok else "failure"
                continue
            results[name], outputs[name] = self._job(f"{prefix}{name}", job, context)
        return all(result != "failure" for result in results.values())

    def _job(self, name: str, job: dict[str, Any], context: dict[str, Any]) -> tuple[str, dict[str, str]]:
        environment = self._substitute(job.get("environment", ""), context)
        try:
            context = {**context, "vars": self._vars(environment) if environment else {}, "steps": {}}
        except PipelineScriptError as err:  # the environment's variables could not be written: the job fails
            self.run.steps.append(StepRun(name, "vars", "", 1, f"{type(err).__name__}: {err}"))
            self.run.results[name] = "failure"
            return "failure", {}
        runs_on = job.get("runs-on")
        if isinstance(runs_on, str):  # a whole expression may give an object (fromJSON); text is substituted
            whole = _EXPRESSION.fullmatch(runs_on.strip())
            runs_on = self._eval(runs_on, context, {}) if whole else self._substitute(runs_on, context)
        caller = Caller.from_runs_on(runs_on)
        env = {
            **context["env"],
            **{k: self._substitute(v, context) for k, v in (job.get("env") or {}).items()},
        }
        for index, step in enumerate(job.get("steps") or []):
            label = str(step.get("name") or step.get("uses") or f"step {index}")
            if "uses" in step:
                action = str(step["uses"]).split("@")[0]
                if action not in SKIPPED_ACTIONS:
                    raise NotImplementedError(f"{name}: the twin does not run the action {step['uses']!r}")
                self.run.steps.append(
                    StepRun(name, label, str(caller), None, skipped_because=SKIPPED_ACTIONS[action])
                )
                continue
            output_file = self.scratch / f"output-{name.replace('/', '-')}-{index}"
            output_file.write_text("")
            step_env = {
                **env,
                **{k: self._substitute(v, context) for k, v in (step.get("env") or {}).items()},
            }
            done = run_bash(
                self._substitute(step["run"], context), cwd=self.project, caller=caller, bin_dir=self.bin,
                env={**step_env, "GITHUB_OUTPUT": str(output_file), "RUNNER_TEMP": str(self.scratch)}, state=self.state, home=self.scratch,
                options=("-eo", "pipefail"),
            )  # fmt: skip
            self.run.steps.append(
                StepRun(name, label, str(caller), done.returncode, done.stdout + done.stderr)
            )
            values = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
            if "id" in step:
                context["steps"][step["id"]] = {"outputs": values}
            if done.returncode:
                self.run.results[name] = "failure"
                return "failure", {}
        self.run.results[name] = "success"
        return "success", {k: self._substitute(v, context) for k, v in (job.get("outputs") or {}).items()}


def run_github_workflow(
    path: Path, twin: AzureTwin, project: Path, inputs: dict[str, Any] | None = None
) -> PipelineRun:
    """Run the workflow at `path` of `project` against `twin` (changed in place)."""
    return WorkflowRunner(twin, project).run_workflow(path, inputs)
