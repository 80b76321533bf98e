"""Commands a pipeline step runs, answered by the twin: `python -m <module>`, `az ...`, `pulumi ...`, `docker ...`.

The runner puts `python`, `python3`, `az` and `pulumi` on the step's PATH as wrappers that run this file with
the real interpreter. `python -m pipelines.scripts.<script>` runs the real entry point (its `__main__`), with
`aml_client.from_args` returning the twin's adapter for the step's caller; the twin's state is loaded from and
saved to the file `AZURE_TWIN_STATE`, so the next step sees what this one created.
"""

from __future__ import annotations

import json
import os
import runpy
import shlex
import sys
from pathlib import Path
from typing import Any

STATE_VARIABLE = "AZURE_TWIN_STATE"
SUBSCRIPTION_VARIABLE = "AZURE_TWIN_SUBSCRIPTION"
ADAPTER_MODULES = ("pipelines.scripts.aml_client", "pipelines.scripts.aml_assets_client")
"""Modules whose `from_args` builds the Azure ML client a script uses (the twin's adapter replaces it)."""
PROJECT_SEAM = "aml_clients"
"""A generated project's module whose `from_args` builds the Azure clients of `promote` and `monitoring`."""
RUNS_FOR_REAL = ("pipelines.scripts.teardown_guard", "functions.publish")
"""Modules run without the AML adapter (their only calls are `pulumi`, or HTTP answered by `devops`)."""


def _fail(message: str, code: int = 127) -> int:
    print(f"##vso[task.logissue type=error]{message}")
    return code


def _run_module(module: str, args: list[str]) -> int:
    sys.argv = [module, *args]
    try:
        import importlib.util

        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(module)
    except ModuleNotFoundError:
        print(f"{sys.executable}: No module named {module}", file=sys.stderr)  # what `python -m` says, exit 1
        return 1
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


def _project_seam(module: str) -> str:
    """`<package>.aml_clients` when `module` belongs to the generated project in the step's folder (src layout)
    and its package has that seam (the Azure clients `promote` and `monitoring` use), else ""."""
    package = module.split(".")[0]
    if not (Path.cwd() / "src" / package / f"{PROJECT_SEAM}.py").is_file():
        return ""
    sys.path.insert(1, str(Path.cwd() / "src"))  # what `uv sync` installs (editable) on a real agent
    return f"{package}.{PROJECT_SEAM}"


def python(argv: list[str]) -> int:
    from azure_twin.adapter import TwinAmlClient
    from azure_twin.caller import Caller
    from azure_twin.model import AzureTwin

    if len(argv) < 2 or argv[0] != "-m":
        return _fail(f"the Azure twin runs only `python -m <module>`, not `python {shlex.join(argv)}`")
    module, args = argv[1], argv[2:]
    project_seam = _project_seam(module)
    if module not in RUNS_FOR_REAL and not module.startswith("pipelines.scripts.") and not project_seam:
        return _fail(f"the Azure twin has no adapter for `python -m {module}`: it calls Azure without one")
    state = Path(os.environ[STATE_VARIABLE])
    twin = AzureTwin.load(state)
    caller = Caller.from_env()
    if project_seam:
        import importlib

        from azure_twin.project_sdk import clients_factory

        seam = importlib.import_module(project_seam)  # the project's boundary: `aml_clients.from_args`
        seam.from_args = clients_factory(twin, caller, seam.AmlClients)
    if module.startswith("pipelines.scripts."):
        import importlib
        import time

        # Operations complete at once in the twin: a script's dwell between traffic steps need not pass for real.
        time.sleep = lambda seconds: None

        def twin_client(a: object) -> TwinAmlClient:
            return TwinAmlClient(
                twin,
                caller,
                subscription_id=a.subscription_id,  # type: ignore[attr-defined]
                resource_group=a.resource_group,  # type: ignore[attr-defined]
                workspace=a.workspace,  # type: ignore[attr-defined]
            )

        for adapter in ADAPTER_MODULES:  # the seam every script uses: `api or <adapter>.from_args(args)`
            if importlib.util.find_spec(adapter) is not None:
                importlib.import_module(adapter).from_args = twin_client
    import urllib.request

    from azure_twin import devops

    # The scripts' HTTP boundary: Azure DevOps and GitHub REST answered by the twin, nothing else reachable.
    urllib.request.urlopen = lambda request, timeout=None, **_: devops.urlopen(twin, request, timeout)
    try:
        return _run_module(module, args)
    finally:
        twin.save(state)


_PULUMI_VALUED = {
    "--stack",
    "-s",
    "--color",
    "--secrets-provider",
    "--target",
    "--config-file",
    "--parallel",
    "--file",
}


def _pulumi_words(argv: list[str]) -> tuple[list[str], set[str]]:
    """Positional words and flags of a `pulumi` command line (values of valued flags dropped)."""
    words: list[str] = []
    flags: set[str] = set()
    rest = iter(argv)
    for arg in rest:
        if arg in _PULUMI_VALUED:
            next(rest, None)
        elif arg.startswith("-"):
            flags.add(arg.split("=", 1)[0])
        else:
            words.append(arg)
    return words, flags


def pulumi(argv: list[str]) -> int:
    from azure_twin.model import AzureTwin

    state = Path(os.environ[STATE_VARIABLE])
    twin = AzureTwin.load(state)
    words, flags = _pulumi_words(argv)
    stack = _option(argv, "--stack") or _option(argv, "-s")
    if words[:1] == ["login"]:
        return 0
    if words[:2] == ["stack", "select"]:
        chosen = words[2] if len(words) > 2 else stack
        return 0 if chosen in twin.stacks else _fail(f"pulumi: no stack named {chosen!r}", 255)
    if words[:2] == ["stack", "rm"] and len(words) > 2:
        stack = words[2]
    if stack not in twin.stacks:
        return _fail(f"pulumi {shlex.join(argv)}: no stack named {stack!r}", 255)
    if words[:1] == ["up"]:
        from azure_twin.caller import Caller
        from azure_twin.images_and_secrets import up

        code = up(twin, twin.stacks[stack], _values(argv, "--target"), Caller.from_env())
        if code:
            twin.save(state)
            return code
    elif words[:1] == ["destroy"]:
        code = _destroy(twin, stack, _values(argv, "--target"), "--target-dependents" in flags)
        if code:
            twin.save(state)
            return code
    elif words[:2] == ["stack", "export"]:
        Path(_option(argv, "--file")).write_text(json.dumps(_export(twin.stacks[stack])), encoding="utf-8")
    elif words[:2] == ["stack", "rm"]:
        if twin.stacks[stack].deployed:
            return _fail(f"error: stack '{stack}' still has resources; use `pulumi destroy` first", 255)
        del twin.stacks[stack]
    elif words[:2] == ["stack", "output"] and "--json" in flags:
        print(json.dumps(twin.stacks[stack].outputs if twin.stacks[stack].deployed else {}))
    elif words[:1] != ["preview"]:
        return _fail(f"the Azure twin does not model `pulumi {shlex.join(argv)}`", 255)
    twin.save(state)
    return 0


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else ""


def _values(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == name]


def _export(stack: Any) -> dict[str, Any]:
    """`pulumi stack export`: the stack resource (a component) and every custom resource still in the state."""
    if not stack.deployed:
        return {"version": 3, "deployment": {"resources": []}}
    root = {"urn": f"urn:pulumi:{stack.stack}::azure-mlops::pulumi:pulumi:Stack::azure-mlops-{stack.stack}",
            "type": "pulumi:pulumi:Stack", "custom": False}  # fmt: skip
    resources = [{"urn": r.urn, "type": r.type, "custom": True} for r in stack.resources]
    return {"version": 3, "deployment": {"resources": [root, *resources]}}


def _destroy(twin: Any, name: str, targets: list[str], dependents: bool) -> int:
    """`pulumi destroy [--target URN ...]`: each delete checked as Azure checks it. A Databricks object is deleted
    through its workspace's API, which a workspace with public network access disabled answers only from inside a
    VNet with a private endpoint to it (https://learn.microsoft.com/azure/databricks/security/network/front-end/
    front-end-private-connect); everything else is an ARM delete, answered from anywhere."""
    from azure_twin.caller import Caller
    from azure_twin.errors import databricks_network_denied
    from azure_twin.model import Call

    stack, caller = twin.stacks[name], Caller.from_env()
    unknown = sorted(set(targets) - {r.urn for r in stack.resources})
    if unknown:
        return _fail(f"error: no resource named '{unknown[0]}' found in stack {name}", 255)
    if targets and not dependents:
        return _fail("the Azure twin models `pulumi destroy --target` with --target-dependents only", 255)
    chosen = [r for r in stack.resources if not targets or r.urn in targets]
    for resource in chosen:
        refused = ""
        if resource.data_plane_of and not caller.reaches(
            twin, resource.data_plane_of, public=resource.public
        ):
            refused = str(databricks_network_denied(resource.data_plane_of))
        twin.calls.append(
            Call(caller=str(caller), operation="pulumi destroy", target=resource.urn, refused=refused)
        )
        if refused:
            return _fail(f"error: deleting {resource.urn}: {refused}", 255)
    stack.resources = [r for r in stack.resources if r not in chosen]
    if not targets:
        stack.deployed = False
    return 0


def az(argv: list[str]) -> int:
    from azure_twin import errors
    from azure_twin.caller import Caller
    from azure_twin.model import AzureTwin, Call

    if argv[:2] == ["account", "show"]:
        print(os.environ.get(SUBSCRIPTION_VARIABLE, ""))
        return 0
    if argv[:2] in (["acr", "login"], ["keyvault", "secret"]):
        from azure_twin import images_and_secrets

        state = Path(os.environ[STATE_VARIABLE])
        twin = AzureTwin.load(state)
        if argv[:2] == ["acr", "login"]:
            code = images_and_secrets.acr_login(twin, Caller.from_env(), argv[2:])
        elif argv[2:3] in (["list"], ["set"]):
            code = images_and_secrets.keyvault_secret(twin, Caller.from_env(), argv[2:])
        else:
            return _fail(f"the Azure twin does not model `az {shlex.join(argv)}`", 2)
        twin.save(state)
        return code
    if argv[:4] != ["functionapp", "deployment", "source", "config-zip"]:
        return _fail(f"the Azure twin does not model `az {shlex.join(argv)}`", 2)
    state = Path(os.environ[STATE_VARIABLE])
    twin = AzureTwin.load(state)
    caller = Caller.from_env()
    name, group = _option(argv, "--name"), _option(argv, "--resource-group")
    apps = [
        a for s in twin.deployed() for a in s.function_apps if (a.name, a.resource_group) == (name, group)
    ]
    if not apps:
        error: Exception = errors.not_found("Microsoft.Web/sites", name, group)
    elif not caller.reaches(twin, apps[0].resource_id, public=apps[0].public_network_access):
        error = errors.site_forbidden(name)
    else:
        apps[0].packages.append(Path(_option(argv, "--src")).name)
        twin.calls.append(Call(caller=str(caller), operation="publish function app", target=name))
        twin.save(state)
        return 0
    twin.calls.append(
        Call(caller=str(caller), operation="publish function app", target=name, refused=str(error))
    )
    twin.save(state)
    print(f"ERROR: {error}", file=sys.stderr)
    return 1


def docker(argv: list[str]) -> int:
    """The agent's Docker, against the twin's registries (azure_twin.images_and_secrets)."""
    from azure_twin.caller import Caller
    from azure_twin.images_and_secrets import docker as run
    from azure_twin.model import AzureTwin

    state = Path(os.environ[STATE_VARIABLE])
    twin = AzureTwin.load(state)
    code = run(twin, Caller.from_env(), argv)
    twin.save(state)
    return code


def uv(argv: list[str]) -> int:
    """`uv export`: the project's pinned requirements (pyproject.toml's dependencies and the requested extras),
    as the lock would give them for the generated projects, whose pins are exact; no resolver, no network."""
    import tomllib

    if argv[:1] != ["export"] or "--output-file" not in argv:
        return _fail(f"the Azure twin's agent has no `uv {shlex.join(argv)}`", 2)
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--extra"]
    lines = [
        *project.get("dependencies", []),
        *(d for e in extras for d in project["optional-dependencies"][e]),
    ]
    Path(_option(argv, "--output-file")).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


def main() -> int:
    command, argv = sys.argv[1], sys.argv[2:]
    # The step's own folder (the project) first, so its `pipelines` package is the one that runs; then the twin.
    sys.path[0:1] = [str(Path.cwd()), str(Path(__file__).resolve().parent.parent)]  # not this file's folder
    return {"python": python, "pulumi": pulumi, "az": az, "uv": uv, "docker": docker}[command](argv)


if __name__ == "__main__":
    sys.exit(main())
