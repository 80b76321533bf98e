"""The twin's container registries, key vaults and Container Apps runner jobs: `pulumi up` (whole or targeted),
`docker build/push/manifest inspect`, `az acr login` and `az keyvault secret list/set`, each checked as Azure checks it.

- A Container Apps job is created only when its image tag is in the registry and every Key Vault reference resolves
  to an existing secret (errors.image_not_found, errors.key_vault_reference_failed): the platform pulls and reads
  them through its own identity, so only existence counts, not the caller's network.
- A registry or vault with public network access disabled answers only callers in a VNet with a private endpoint
  to it, and only once that endpoint exists (a targeted `pulumi up` may have created it before the rest).
- Secret values are never kept: a secret is its tags and a version count.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from . import errors
from .caller import Caller
from .model import AzureTwin, Call, StackTwin

DOCKER_STATE = ".azure-twin-docker.json"
"""In the agent's home: the registries `az acr login` logged Docker into and the images built on the agent."""
_LIST_QUERY = re.compile(r"^\[\?name=='([^']+)'\]\.tags\.(\w+)$")


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def _record(
    twin: AzureTwin, caller: Caller, operation: str, target: str, error: Exception | None = None
) -> None:
    twin.calls.append(Call(caller=str(caller), operation=operation, target=target, refused=str(error or "")))


# pulumi up.
def target_pattern(glob: str) -> re.Pattern[str]:
    """Pulumi's --target globs: `**` matches anything, `*` anything but a `::` separator."""
    parts = re.split(r"(\*\*|\*)", glob)
    return re.compile(
        "".join({"**": ".*", "*": "(?:(?!::).)*"}.get(part, re.escape(part)) for part in parts) + "$"
    )


def targeted(stack: StackTwin, targets: list[str]) -> tuple[list[str], str]:
    """The custom resources `targets` select, or an error naming a target without a wildcard that names nothing."""
    urns = [r.urn for r in stack.resources]
    chosen: list[str] = []
    for target in targets:
        pattern = target_pattern(target)
        found = [u for u in urns if pattern.match(u)]
        if not found and "*" not in target and target not in stack.components:
            return [], f"error: Target '{target}' does not exist in stack {stack.stack}"
        chosen += [u for u in found if u not in chosen]
    return chosen, ""


def up(twin: AzureTwin, stack: StackTwin, targets: list[str], caller: Caller) -> int:
    """`pulumi up [--target ...]`: create what it selects; a runner job only if its image and secrets exist."""
    chosen, error = targeted(stack, targets) if targets else ([r.urn for r in stack.resources], "")
    if error:
        return _fail(error, 255)
    for job in stack.runner_jobs:
        if job.urn not in chosen:
            continue
        refused: Exception | None = None
        registry = twin.registry_of(job.image.split("/", 1)[0])
        repository, tag = job.image.split("/", 1)[1].rsplit(":", 1)
        if registry is None or tag not in registry[1].images.get(repository, []):
            refused = errors.image_not_found(job.image)
        for url in job.key_vault_urls:
            vault_name, secret = re.fullmatch(
                r"https://([^.]+)\.vault\.azure\.net/secrets/([^/]+)", url
            ).groups()
            vault = twin.vault_of(vault_name)
            if refused is None and (vault is None or secret not in vault[1].secrets):
                refused = errors.key_vault_reference_failed(url)
        _record(twin, caller, "create container apps job", job.name, refused)
        if refused is not None:
            return _fail(f"error: creating {job.urn}: {refused}", 255)
    if targets:
        stack.created += [u for u in chosen if u not in stack.created]
    else:
        stack.deployed = True
    return 0


# Docker on the agent.
def _docker_state() -> dict[str, list[str]]:
    path = Path.home() / DOCKER_STATE
    return json.loads(path.read_text()) if path.exists() else {"logins": [], "images": []}


def _save_docker_state(state: dict[str, list[str]]) -> None:
    (Path.home() / DOCKER_STATE).write_text(json.dumps(state))


def _reachable_registry(twin: AzureTwin, caller: Caller, operation: str, image: str):
    """The registry of `image` if the caller reaches it and Docker is logged in to it; else the error text."""
    host = image.split("/", 1)[0].casefold()
    found = twin.registry_of(host)
    if found is None:
        _record(
            twin,
            caller,
            operation,
            image,
            errors.not_found("Microsoft.ContainerRegistry/registries", host, None),
        )
        return None, f"dial tcp: lookup {host}: no such host"
    registry = found[1]
    if not caller.reaches(twin, registry.resource_id, public=registry.public_network_access):
        error = errors.registry_firewall_denied(host)
        _record(twin, caller, operation, image, error)
        return None, str(error)
    if host not in _docker_state()["logins"]:
        return None, f"unauthorized: authentication required (run `az acr login` for {host} first)"
    return registry, ""


def docker(twin: AzureTwin, caller: Caller, argv: list[str]) -> int:
    """`docker build --tag IMAGE CONTEXT`, `docker push IMAGE`, `docker manifest inspect IMAGE`."""
    state = _docker_state()
    if argv[:1] == ["build"]:
        image = argv[argv.index("--tag") + 1]
        context = Path(argv[-1])
        if not (context / "Dockerfile").is_file():
            return _fail(
                f"ERROR: failed to solve: failed to read dockerfile: open {context}/Dockerfile: no such file"
            )
        state["images"].append(image)
        _save_docker_state(state)
        _record(twin, caller, "docker build", image)
        return 0
    if argv[:1] == ["push"] or argv[:2] == ["manifest", "inspect"]:
        image = argv[-1]
        operation = "docker push" if argv[0] == "push" else "docker manifest inspect"
        registry, error = _reachable_registry(twin, caller, operation, image)
        if registry is None:
            return _fail(error)
        repository, tag = image.split("/", 1)[1].rsplit(":", 1)
        tags = registry.images.setdefault(repository, [])
        if operation == "docker manifest inspect":
            _record(twin, caller, operation, image)
            if tag in tags:
                print(json.dumps({"schemaVersion": 2, "tag": tag}))
                return 0
            return _fail(f"no such manifest: {image}")
        if image not in state["images"]:
            return _fail(f"An image does not exist locally with the tag: {image}")
        if tag not in tags:
            tags.append(tag)
        _record(twin, caller, operation, image)
        return 0
    return _fail(f"the Azure twin's agent does not model `docker {' '.join(argv)}`", 2)


# az acr / az keyvault.
def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else ""


def acr_login(twin: AzureTwin, caller: Caller, argv: list[str]) -> int:
    """`az acr login --name R`: Docker gets a token from the registry's login server (its data plane)."""
    name = _option(argv, "--name")
    found = next(
        (
            (s, r)
            for s in twin.stacks.values()
            for r in s.container_registries
            if r.name == name and s.exists(r.urn)
        ),
        None,
    )
    if found is None:
        error: Exception = errors.not_found("Microsoft.ContainerRegistry/registries", name, None)
    elif not caller.reaches(twin, found[1].resource_id, public=found[1].public_network_access):
        error = errors.registry_firewall_denied(found[1].login_server)
    else:
        state = _docker_state()
        state["logins"].append(found[1].login_server)
        _save_docker_state(state)
        _record(twin, caller, "acr login", name)
        print("Login Succeeded")
        return 0
    _record(twin, caller, "acr login", name, error)
    return _fail(f"ERROR: {error}")


def keyvault_secret(twin: AzureTwin, caller: Caller, argv: list[str]) -> int:
    """`az keyvault secret list --vault-name V --query "[?name=='N'].tags.T" --output tsv` (the only query modelled)
    and `az keyvault secret set --vault-name V --name N --file F [--tags k=v ...]`."""
    name = _option(argv, "--vault-name")
    operation = f"keyvault secret {argv[0]}"
    found = twin.vault_of(name)
    if found is None:
        error: Exception = errors.not_found("Microsoft.KeyVault/vaults", name, None)
    elif not caller.reaches(twin, found[1].resource_id, public=found[1].public_network_access):
        error = errors.vault_forbidden(name)
    else:
        vault = found[1]
        if argv[0] == "list":
            query = _LIST_QUERY.fullmatch(_option(argv, "--query"))
            if query is None or _option(argv, "--output") != "tsv":
                return _fail(f"the Azure twin models only `{_LIST_QUERY.pattern}` with --output tsv", 2)
            secret, tag = query.groups()
            _record(twin, caller, operation, name)
            if secret in vault.secrets and tag in vault.secrets[secret]:
                print(vault.secrets[secret][tag])
            return 0
        secret, source = _option(argv, "--name"), Path(_option(argv, "--file"))
        if not source.is_file():
            return _fail(f"ERROR: [Errno 2] No such file or directory: '{source}'")
        start = argv.index("--tags") + 1 if "--tags" in argv else len(argv)
        tags = dict(t.split("=", 1) for t in argv[start:] if not t.startswith("--") and "=" in t)
        vault.secrets[secret] = tags
        vault.versions[secret] = vault.versions.get(secret, 0) + 1
        _record(twin, caller, operation, f"{name}/{secret}")
        return 0
    _record(twin, caller, operation, name, error)
    return _fail(f"ERROR: {error}")
