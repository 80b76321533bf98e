"""The policy gate's checkov: one process that imports checkov once and runs every scan in a fork of itself.

Run with `.venv-checkov`'s Python (infra/plan/checkov_run.py starts it). Importing checkov costs about 2 s of
CPU; forked from one warm process, the gate's scans (the repository's frameworks, its secrets, each stack's
ARM model) pay it once and still run side by side, each with checkov's module-level state fresh.

Requests come on stdin, one JSON object a line:
  {"id": "...", "argv": [checkov's arguments], "report": "<file for checkov's JSON report>", "cwd": "<folder>"}
and, for a secrets scan of a folder, also "secrets_root" (the folder) and "skip_paths" (checkov's --skip-path
patterns): the files are those checkov's own secrets walk finds there (`--enable-secret-scan-all-files`) but
those detect-secrets would drop unread (`unread_by_detect_secrets`), and each distinct (content, name) is
scanned once (`distinct_files`); "<report>.files.json" says {"copies": {scanned file: [its copies]}, "unread":
[files]}. When a scan ends, one line answers on stdout: {"id": ..., "exit": checkov's exit code}.
The server ends when stdin closes and its scans have ended.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import select
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.02
"""How often the loop looks for ended scans while no request comes."""


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
    """Wait for every process the scan forked (checkov's workers), as checkov's own exit would: none outlives the
    scan, and their CPU time is counted with the gate's."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def start(request: dict[str, Any]) -> int:
    """Fork a scan for `request`; its process ID."""
    argv = list(request["argv"])
    if "secrets_root" in request:
        found = secrets_files(request["secrets_root"], request.get("skip_paths", []))
        unread = [path for path in found if unread_by_detect_secrets(path)]
        copies = distinct_files(sorted(set(found) - set(unread)))
        # Beside the report, not in the answer: hundreds of paths would fill the pipe the gate reads at the end.
        Path(f"{request['report']}.files.json").write_text(json.dumps({"copies": copies, "unread": unread}))
        for path in copies:
            argv += ["--file", path]
    pid = os.fork()
    if pid == 0:  # the scan; os._exit: the fork must not run the server's loop or its exit handlers
        # A scan lives seconds and ends with os._exit: the cyclic collector would only re-walk what it allocates.
        gc.disable()
        try:
            os.chdir(request.get("cwd", "."))  # checkov names files relative to it
            code = _run_checkov(argv, request["report"])
        except BaseException:  # reported on stderr, exit 3
            traceback.print_exc()
            code = 3
        sys.stderr.flush()
        _reap_children()
        os._exit(code)
    return pid


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve() -> None:
    """Read requests until stdin closes; answer each when its scan ends."""
    import checkov.main  # noqa: F401 (imported once here, shared by every fork)

    gc.freeze()  # checkov's modules: no collection in a fork walks them (or copies their pages)

    running: dict[int, str] = {}
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
                running[start(request)] = request["id"]
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            _answer({"id": running.pop(pid), "exit": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    serve()
