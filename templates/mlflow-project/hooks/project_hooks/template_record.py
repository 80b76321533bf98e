"""Record the answers and the template version a project came from, as cruft's `.cruft.json`.

`cruft create <repository> --directory templates/mlflow-project` writes `.cruft.json` itself (its context
carries `_commit`, and this module then leaves the file to cruft). Plain `cookiecutter templates/mlflow-project`
does not, so the post-generation hook writes the same file, and only when it can say truthfully which commit
the project came from:

- the template folder must be inside a git checkout, with no uncommitted or untracked change under it
  (otherwise no commit holds what was generated, and a later update would misread the difference as the
  user's own edits);
- the template must be given as a local folder (`cookiecutter <path>`; a URL or `--directory` is
  `cruft create`'s job);
- the repository recorded is `origin` when that remote already has the commit, else the local checkout's
  path (a commit not pushed yet is reachable from nowhere else).

When it cannot record, it says why and how to link the project later (`cruft link`), and generation goes on.

Either way the project gets the template's cruft wrapper (hooks/cruft_cli.py) as `<package>/cruft_cli.py`, which
its `make update-template` runs: cruft with a refused answer in one line instead of a traceback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

CRUFT_FILE = ".cruft.json"
# Cookiecutter's per-run keys: machine paths and the checkout argument, not answers.
_RUN_KEYS = frozenset({"_output_dir", "_repo_dir", "_checkout", "_template", "_commit"})


class NotRecorded(Exception):
    """The template's version cannot be stated truthfully; the message says why."""


def _git(template_dir: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=template_dir, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError as err:
        msg = "git is not installed"
        raise NotRecorded(msg) from err
    if done.returncode:
        msg = f"`git {' '.join(args)}` failed: {done.stderr.strip() or done.returncode}"
        raise NotRecorded(msg)
    return done.stdout.strip()


def template_source(template_dir: Path) -> dict[str, str]:
    """The repository, folder and commit that hold exactly `template_dir`'s files, or NotRecorded."""
    if not (template_dir / "cookiecutter.json").is_file():
        msg = (
            f"{template_dir} is not a local template folder (a repository URL, or --directory): "
            "`cruft create <repository> --directory templates/mlflow-project` records the version"
        )
        raise NotRecorded(msg)
    try:
        top = Path(_git(template_dir, "rev-parse", "--show-toplevel"))
    except NotRecorded as err:
        msg = f"{template_dir} is not in a git checkout"
        raise NotRecorded(msg) from err
    directory = template_dir.resolve().relative_to(top.resolve()).as_posix()
    changed = _git(template_dir, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if changed:
        count = len(changed.splitlines())
        msg = f"{count} uncommitted change(s) under {directory}: no commit holds what was generated"
        raise NotRecorded(msg)
    commit = _git(template_dir, "rev-parse", "HEAD")
    repository = str(top)
    try:
        origin = _git(template_dir, "remote", "get-url", "origin")
        if _git(template_dir, "branch", "--remotes", "--contains", commit, "--list", "origin/*"):
            repository = origin
    except NotRecorded:
        pass  # no origin remote: the local checkout is the only place that has the commit
    return {"template": repository, "directory": "" if directory == "." else directory, "commit": commit}


def _in_declared_order(value: object, declared: object) -> object:
    if isinstance(value, dict) and isinstance(declared, dict):
        return {key: value[key] for key in [*declared, *sorted(set(value) - set(declared))] if key in value}
    return value


def cruft_state(
    answers: Mapping[str, object], source: Mapping[str, str], declared: Mapping[str, object] | None = None
) -> dict[str, object]:
    """`.cruft.json` as `cruft create` writes it: the answers and the template's own `_` keys, no run keys,
    in the order of `declared` (cookiecutter.json, which cruft keeps; the hook receives the answers sorted)."""
    declared = declared or {}
    keys = [*(key for key in declared if key in answers), *sorted(set(answers) - set(declared))]
    context = {
        key: _in_declared_order(answers[key], declared.get(key))
        for key in keys
        if key not in _RUN_KEYS and not key.startswith("__")
    }
    context["_template"] = source["template"]
    context["_commit"] = source["commit"]
    return {
        "template": source["template"],
        "commit": source["commit"],
        "checkout": None,
        "context": {"cookiecutter": context},
        "directory": source["directory"] or None,
    }


def record(project_dir: Path, answers: Mapping[str, object], template_dir: Path) -> str:
    """Write `.cruft.json` unless cruft is generating (it writes its own); return what was done, for the user."""
    if "_commit" in answers:
        return ""
    try:
        source = template_source(template_dir)
    except NotRecorded as err:
        return (
            f"note: no {CRUFT_FILE} written ({err}), so `make template-check` cannot tell whether the project is "
            "behind its template. Once the template is committed, link it: cruft link <template repository> "
            "--directory templates/mlflow-project"
        )
    declared = json.loads((template_dir / "cookiecutter.json").read_text(encoding="utf-8"))
    text = json.dumps(
        cruft_state(answers, source, declared), ensure_ascii=False, indent=2, separators=(",", ": ")
    )
    (project_dir / CRUFT_FILE).write_text(text + "\n", encoding="utf-8")
    return f"{CRUFT_FILE}: template {source['template']} ({source['directory'] or '.'}) at {source['commit'][:12]}"


def install_cruft_wrapper(project_dir: Path, package: str, hooks_dir: Path) -> None:
    """Copy the template's hooks/cruft_cli.py into the project's package (one source, no copy to keep in step)."""
    shutil.copyfile(hooks_dir / "cruft_cli.py", project_dir / "src" / package / "cruft_cli.py")
