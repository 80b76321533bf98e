"""The policy gate's checkov: one process that imports checkov once and runs every scan in a fork of itself.

Run with `.venv-checkov`'s Python (infra/plan/checkov_run.py starts it). Importing checkov costs about 2 s of
CPU; forked from one warm process (`warm`: checkov, the detect-secrets modules every secrets scan loads, checkov's
YAML parsing on libyaml), the gate's scans (the repository's frameworks, its secrets, each stack's ARM model) pay
it once and still run side by side, each with checkov's module-level state fresh. Each scan runs in one process,
at a lower priority than the gate (`SCAN_NICENESS`): checkov's own parallelism (a fork per framework, two forks
per secrets scan, every result pickled back through a pipe) is off, since the server already runs the gate's
scans side by side; it cost a sixth of the gate's CPU.

Requests come on stdin, one JSON object a line:
  {"id": "...", "argv": [checkov's arguments], "report": "<file for checkov's JSON report>", "cwd": "<folder>"}
and, for a secrets scan of a folder, also "secrets_root" (the folder), "skip_paths" (checkov's --skip-path
patterns) and "parts" (how many forks share its files, default 1): the files are those checkov's own secrets
walk finds there (`--enable-secret-scan-all-files`) but those detect-secrets would drop unread
(`unread_by_detect_secrets`), each distinct (content, name) scanned once (`distinct_files`), split by size
between the parts (`balanced_parts`), each part writing its own report ("<report>.<part>");
"<report>.files.json" says {"copies": {scanned file: [its copies]}, "unread": [files]}. When a scan (all its
parts) has ended, one line answers on stdout: {"id": ..., "exit": checkov's exit code, "reports": [files]}.
The server ends when stdin closes and its scans have ended.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import importlib
import json
import os
import pkgutil
import select
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.02
"""How often the loop looks for ended scans while no request comes."""
SCAN_NICENESS = 5
"""How much lower the scans' CPU priority is than the gate's: planning is the gate's critical path (each model's
scan waits for its plan), so the scans take what the planning leaves of the cores, and all of them once it ends."""


def unread_by_detect_secrets(path: str) -> bool:
    """Whether detect-secrets drops the file before reading a line: its file-level filters that checkov's secrets
    framework keeps on (lock files by name, binary files by extension, Swagger files by path). No secret can be
    found in such a file, so the gate does not hand it to checkov."""
    from detect_secrets.filters.heuristic import is_lock_file, is_non_text_file, is_swagger_file

    return is_lock_file(path) or is_non_text_file(path) or is_swagger_file(path)


def distinct_files(paths: Iterable[str]) -> dict[str, list[str]]:
    """Scanned file -> its copies: files with the same bytes and the same name.

    detect-secrets and checkov's secrets framework judge a file by its content and its name: the extension picks
    the file type (keyword patterns, YAML transformer, IaC or code), the base name the Dockerfile rule, and the
    whole path only the file-level filters (`unread_by_detect_secrets`, applied first). Two files alike in
    content and name get the same findings, so one is scanned (the first in sorted order) and its findings are
    reported for each copy: the generated projects repeat the template's text, and their pipeline templates
    are the platform's.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for path in sorted(paths):
        groups.setdefault((hashlib.sha256(Path(path).read_bytes()).hexdigest(), Path(path).name), []).append(
            path
        )
    return {first: rest for first, *rest in groups.values()}


def balanced_parts(paths: Iterable[str], parts: int) -> list[list[str]]:
    """`paths` in at most `parts` groups of about equal bytes, each file in exactly one (no empty group).

    A secrets scan costs about its files' size (detect-secrets runs every plugin on every line): the largest
    file goes first, each to the group with the fewest bytes so far, so the parts of a folder's scan end
    together and keep every core busy to the end of the gate.
    """
    groups: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(parts, 1))]
    for size, path in sorted(
        ((Path(path).stat().st_size, path) for path in paths), key=lambda x: (-x[0], x[1])
    ):
        lightest = min(range(len(groups)), key=lambda i: groups[i][0])
        groups[lightest] = (groups[lightest][0] + size, [*groups[lightest][1], path])
    return [sorted(group) for _, group in groups if group]


def secrets_files(root: str, skip_paths: list[str]) -> list[str]:
    """The files checkov's secrets framework reads under `root` with these --skip-path patterns and every file
    type (checkov's own walk, so the gate's set cannot drift from checkov's)."""
    from checkov.runner_filter import RunnerFilter
    from checkov.secrets.runner import _find_files_from_root_folder

    runner_filter = RunnerFilter(
        framework=["secrets"], excluded_paths=skip_paths, enable_secret_scan_all_files=True
    )
    return [str(Path(path).resolve()) for path in _find_files_from_root_folder(root, runner_filter)]


def _run_checkov(argv: list[str], report: str) -> int:
    """In the fork: checkov with `argv`, its stdout into `report`; its exit code (2 for a usage error)."""
    from checkov.main import Checkov

    descriptor = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(descriptor, 1)
    try:
        code = Checkov(argv).run()
    except SystemExit as exit_:  # argparse refusing an argument
        code = exit_.code if isinstance(exit_.code, int) else 2
    sys.stdout.flush()
    return code or 0


def _reap_children() -> None:
    """Wait for every process the scan forked, as checkov's own exit would: none outlives the scan, and their CPU
    time is counted with the gate's."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def _fork(argv: list[str], report: str, cwd: str) -> int:
    """Fork one checkov run; its process ID."""
    pid = os.fork()
    if pid == 0:  # the scan; os._exit: the fork must not run the server's loop or its exit handlers
        # A scan lives seconds and ends with os._exit: the cyclic collector would only re-walk what it allocates.
        gc.disable()
        os.nice(SCAN_NICENESS)
        try:
            os.chdir(cwd)  # checkov names files relative to it
            code = _run_checkov(argv, report)
        except BaseException:  # reported on stderr, exit 3
            traceback.print_exc()
            code = 3
        sys.stderr.flush()
        _reap_children()
        os._exit(code)
    return pid


def start(request: dict[str, Any]) -> dict[int, str]:
    """Fork the scan of `request` (a secrets scan of a folder: one fork per part); process ID -> its report."""
    argv, report, cwd = list(request["argv"]), request["report"], request.get("cwd", ".")
    if "secrets_root" not in request:
        return {_fork(argv, report, cwd): report}
    found = secrets_files(request["secrets_root"], request.get("skip_paths", []))
    unread = [path for path in found if unread_by_detect_secrets(path)]
    copies = distinct_files(sorted(set(found) - set(unread)))
    # Beside the report, not in the answer: hundreds of paths would fill the pipe the gate reads at the end.
    Path(f"{report}.files.json").write_text(json.dumps({"copies": copies, "unread": unread}))
    started = {}
    for number, part in enumerate(balanced_parts(copies, request.get("parts", 1))):
        files = [option for path in part for option in ("--file", path)]
        started[_fork([*argv, *files], f"{report}.{number}", cwd)] = f"{report}.{number}"
    return started


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def warm() -> None:
    """Load, once and before the first fork, what every scan would otherwise load for itself.

    checkov's own parallelism is turned off first (its runner reads the setting when checkov is imported). The
    detect-secrets filter, plugin and transformer modules are imported, not registered: checkov's secrets runner
    still picks its plugins and filters per scan, from these modules and its own plugin files, as it does without
    the server. A scan then imports only the custom checks of --external-checks-dir, which checkov loads per run.
    """
    os.environ["CHECKOV_PARALLELIZATION_TYPE"] = "none"
    import checkov.main  # imported once here, shared by every fork
    import checkov.secrets.plugins.detector_utils  # noqa: F401 (imported by checkov's plugin files in each scan)
    import detect_secrets.filters
    import detect_secrets.plugins
    import detect_secrets.transformers

    for package in (detect_secrets.filters, detect_secrets.plugins, detect_secrets.transformers):
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    from checkov.common.parsers.yaml import loader

    loader.loads = libyaml_loads(loader.loads)
    gc.freeze()  # what it loaded: no collection in a fork walks it (or copies its pages)


def libyaml_loads(checkov_loads: Callable[[str], list[Any]]) -> Callable[[str], list[Any]]:
    """checkov's YAML parsing (`checkov.common.parsers.yaml.loader.loads`: ARM models, pipelines, workflows) with
    libyaml doing what PyYAML's pure-Python parser did, seven times faster: checkov's own loader class (its line
    numbers and booleans) on libyaml's parser, the same trees. Where libyaml refuses a file, checkov's own
    `loads` decides, as without the server. The ARM models alone cost a second of pure-Python parsing."""
    import yaml
    from checkov.common.parsers.yaml.loader import SafeLineLoader

    line_loader = type("CSafeLineLoader", (yaml.CSafeLoader, SafeLineLoader), {})

    @functools.wraps(checkov_loads)
    def loads(content: str) -> list[Any]:
        try:
            return list(yaml.load_all(content, Loader=line_loader))
        except Exception:  # libyaml's errors are not PyYAML's: checkov's own loader handles the file
            return checkov_loads(content)

    return loads


def serve() -> None:
    """Read requests until stdin closes; answer each when its scan (every part of it) has ended."""
    warm()
    running: dict[int, str] = {}
    """Process ID of each fork -> its request's ID."""
    reports: dict[str, list[str]] = {}
    exits: dict[str, list[int]] = {}
    pending, reading = b"", True
    while reading or running:
        ready, _, _ = select.select([0] if reading else [], [], [], POLL_SECONDS)
        if ready:
            chunk = os.read(0, 1 << 16)
            reading = bool(chunk)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in filter(None, lines):
                request = json.loads(line)
                forks = start(request)
                running |= dict.fromkeys(forks, request["id"])
                reports[request["id"]], exits[request["id"]] = list(forks.values()), []
                if not forks:  # a folder without a file to read for secrets
                    _answer({"id": request["id"], "exit": 0, "reports": reports.pop(request["id"])})
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            request_id = running.pop(pid)
            exits[request_id].append(os.waitstatus_to_exitcode(status))
            if request_id not in running.values():
                _answer(
                    {
                        "id": request_id,
                        "exit": _exit_code(exits.pop(request_id)),
                        "reports": reports.pop(request_id),
                    }
                )


def _exit_code(codes: list[int]) -> int:
    """One exit code for a scan's parts: an error (neither 0 nor 1) if any, else 1 if a check failed in any."""
    errors = [code for code in codes if code not in (0, 1)]
    return errors[0] if errors else max(codes)


if __name__ == "__main__":
    serve()
