"""Is this project behind the template it was generated from? (`make template-check`)

    python -m {{ cookiecutter.package_name }}.template_check              # exit 0 up to date, 1 behind, 2 cannot tell
    python -m {{ cookiecutter.package_name }}.template_check --warn-only  # CI: a warning annotation, exit 0

`.cruft.json` records the template repository, the folder inside it and the commit the project came from
(written by `cruft create`, or by the template's post-generation hook under plain cookiecutter). `cruft check`
calls a project behind after any commit to the template's repository; the template is one folder of a
platform repository that changes for other reasons, so this check counts only commits that touch that folder.
It clones without file contents (`--filter=blob:none --no-checkout`), as cruft does, and never prompts for
credentials: a template it cannot reach is reported as "cannot tell", not as a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from {{ cookiecutter.package_name }} import cli

UP_TO_DATE = 0
BEHIND = 1
UNKNOWN = 2
CRUFT_FILE = ".cruft.json"
LINK_HINT = "cruft link <template repository> --directory templates/mlflow-project"


@dataclass(frozen=True)
class Status:
    """The outcome: an exit code and the one line that explains it."""

    code: int
    message: str


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # GIT_TERMINAL_PROMPT=0: an unreachable private template fails fast instead of waiting for a password.
    # GIT_ALLOW_PROTOCOL: .cruft.json is repository content, so a pull request could point it anywhere; no
    # transport that runs commands (ext::) is allowed.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300
    )


def read_state(project: Path) -> Mapping[str, object] | Status:
    """The recorded template state, or the reason there is none to compare."""
    path = project / CRUFT_FILE
    if not path.is_file():
        return Status(
            UNKNOWN, f"no {CRUFT_FILE}: the project records no template version; link it with `{LINK_HINT}`"
        )
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return Status(UNKNOWN, f"{CRUFT_FILE} is not JSON ({err}); restore it from git history")
    if not (
        isinstance(state, dict)
        and isinstance(state.get("template"), str)
        and isinstance(state.get("commit"), str)
    ):
        return Status(UNKNOWN, f'{CRUFT_FILE} must hold the template\'s "template" and "commit" as strings')
    return state


def compare(state: Mapping[str, object], workdir: Path) -> Status:
    """Clone the template into `workdir` and count the commits that changed its folder since the recorded one."""
    template, commit = str(state["template"]), str(state["commit"])
    directory = str(state.get("directory") or ".")
    checkout = state.get("checkout")
    clone = workdir / "template"
    branch = ["--branch", str(checkout)] if checkout else []
    cloned = _git("clone", "--quiet", "--no-checkout", "--filter=blob:none", *branch, template, str(clone))
    if cloned.returncode:
        reason = cloned.stderr.strip().splitlines()[-1:] or ["git clone failed"]
        return Status(UNKNOWN, f"cannot reach the template {template}: {reason[0]}")
    if _git("cat-file", "-e", commit + "^{commit}", cwd=clone).returncode:
        return Status(
            UNKNOWN,
            f"the recorded template commit {commit[:12]} is not in {template} (a rewritten history or a commit "
            f"never pushed): relink with `{LINK_HINT}`",
        )
    latest = _git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    counted = _git("rev-list", "--count", f"{commit}..{latest}", "--", directory, cwd=clone)
    behind = int(counted.stdout.strip() or 0)
    where = f"{template} ({directory})"
    if not behind:
        return Status(UP_TO_DATE, f"up to date with {where}: no change to the template since {commit[:12]}")
    return Status(
        BEHIND,
        f"behind its template: {behind} commit(s) changed {where} since {commit[:12]} (latest {latest[:12]}); "
        "run `make update-template` on a clean working tree and review the diff it leaves",
    )


def check(project: Path) -> Status:
    state = read_state(project)
    if isinstance(state, Status):
        return state
    with tempfile.TemporaryDirectory(prefix="template-check-") as workdir:
        return compare(state, Path(workdir))


def annotation(message: str, environ: Mapping[str, str]) -> str:
    """The message as a CI warning: Azure Pipelines' logging command, GitHub Actions' workflow command."""
    if environ.get("TF_BUILD"):
        return f"##vso[task.logissue type=warning]template-check: {message}"
    if environ.get("GITHUB_ACTIONS"):
        # Workflow command data escapes '%' (and line breaks, which these one-line messages do not have).
        return f"::warning title=template-check::{message.replace('%', '%25')}"
    return f"WARNING: template-check: {message}"


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--project", type=Path, default=Path(), help="the generated project's folder")
    parser.add_argument(
        "--warn-only", action="store_true", help="report behind or unknown as a CI warning and exit 0"
    )
    args = parser.parse_args(argv)
    status = check(args.project)
    if status.code == UP_TO_DATE:
        print(f"template-check: {status.message}")
        return UP_TO_DATE
    if args.warn_only:
        print(annotation(status.message, os.environ))
        return UP_TO_DATE
    print(f"template-check: {status.message}", file=sys.stderr)
    return status.code


if __name__ == "__main__":
    sys.exit(main())
