"""Run the pinned checkov (its own environment, .venv-checkov) offline and read its JSON report.

checkov cannot share the program's environment (it pins `packaging<24`, pulumi needs `>=26`), so it
runs as a subprocess. Offline means: no mapping download (BC_SKIP_MAPPING), no guideline download
(--skip-download), no API key. checkov 3.3.30 does not apply ARM metadata skips to its graph checks
(CKV2_*); `apply_graph_waivers` applies those from the same metadata, so a waiver means one thing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.errors import PlanError

FRAMEWORKS = ("arm", "azure_pipelines", "github_actions", "dockerfile", "secrets")
"""What the gate asks checkov to scan."""
SKIPPED_PATHS = (
    r"\.venv", r"\.tools", r"\.git/", r"_cache", r"node_modules", r"\{\{",
    r"__pycache__", r"(^|/)\.mlops/", r"(^|/)mlruns/", r"(^|/)\.hypothesis/", r"(^|/)mlflow\.db$",
)  # fmt: skip
"""Path patterns checkov leaves out: environments, caches, unrendered template sources, and what .gitignore keeps
out of the repository because a local run writes it (bytecode, `make demo`'s .mlops/, MLflow's mlruns/ and
mlflow.db, hypothesis' examples): whether a scan reads them would depend on what ran before it."""


SECRETS_PARTS = os.cpu_count() or 1
"""Forks a folder's secrets scan is split between: one per core, so the repository's (the gate's longest scan)
keeps every core busy to its end."""


@dataclass(frozen=True)
class Finding:
    """One check result for one resource (or file, for secrets)."""

    framework: str
    check_id: str
    check_name: str
    result: str
    """passed, failed or skipped."""
    file: str
    """Absolute path of the scanned file."""
    resource: str
    """checkov's resource ID, e.g. Microsoft.Storage/storageAccounts.stmlopsdev..."""
    details: tuple[str, ...] = ()
    """What a failing check says about the value it found (our checks name field, value and rule)."""
    reason: str = ""
    """The waiver's reason, for skipped results."""


def checkov_binary(root: Path) -> Path:
    """The checkov of `make setup-checkov`; PlanError with the fix when it is missing."""
    binary = root / ".venv-checkov" / "bin" / "checkov"
    if not binary.is_file():
        msg = f"checkov is not installed at {binary}: run `make setup-checkov`"
        raise PlanError(msg)
    return binary


def _documents(stdout: str) -> list[dict[str, Any]]:
    """checkov prints one JSON object for one framework and a list for several; an empty scan prints less."""
    text = stdout.strip()
    if not text:
        return []
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        msg = f"checkov printed no JSON report (first 500 characters): {text[:500]!r}"
        raise PlanError(msg) from err
    return parsed if isinstance(parsed, list) else [parsed]


def _findings(document: Mapping[str, Any]) -> list[Finding]:
    framework = str(document.get("check_type", ""))
    found = []
    for key, result in (
        ("passed_checks", "passed"),
        ("failed_checks", "failed"),
        ("skipped_checks", "skipped"),
    ):
        for record in document.get("results", {}).get(key, []):
            found.append(
                Finding(
                    framework=framework,
                    check_id=record["check_id"],
                    check_name=record.get("check_name") or "",
                    result=result,
                    file=record.get("file_abs_path") or record.get("file_path") or "",
                    resource=record.get("resource") or "",
                    details=tuple(record.get("details") or ()),
                    reason=((record.get("check_result") or {}).get("suppress_comment") or "").strip(),
                )
            )
    return found


class CheckovJob:
    """One scan the server runs; `findings` waits for it."""

    def __init__(self, server: CheckovServer, ids: list[str]) -> None:
        self._server, self._ids = server, ids
        self.secrets_files: dict[str, list[str]] = {}
        """After `findings`: each file the secrets scan read -> the files with the same content and name."""
        self.secrets_unread: list[str] = []
        """After `findings`: files left out because detect-secrets drops them unread (lock, binary, Swagger)."""
        self.reports: list[str] = []
        """After `findings`: the JSON report of each fork the scan ran in (a folder's secrets: one per part)."""

    def findings(self) -> list[Finding]:
        """Every check result of the scan, a secret found in a file repeated for each of its copies."""
        found = []
        for request_id in self._ids:
            answer = self._server.wait(request_id)
            # checkov exits 1 when a check fails; anything else is a crash or a usage error.
            if answer["exit"] not in (0, 1):
                msg = f"checkov exited {answer['exit']}: {self._server.stderr_tail()}"
                raise PlanError(msg)
            report = self._server.report(request_id)
            files = report.with_name(f"{report.name}.files.json")
            secrets = json.loads(files.read_text()) if files.is_file() else {"copies": {}, "unread": []}
            self.secrets_files |= secrets["copies"]
            self.secrets_unread += secrets["unread"]
            self.reports += answer["reports"]
            found += with_copies(
                [
                    f
                    for part in answer["reports"]
                    for d in _documents(Path(part).read_text())
                    for f in _findings(d)
                ],
                secrets["copies"],
                "secrets",
            )
        return found


def with_copies(findings: list[Finding], copies: Mapping[str, list[str]], framework: str) -> list[Finding]:
    """`findings` plus, for each `framework` result on a file that has copies (same content, scanned once), the
    same result on every copy."""
    repeated = [
        dataclasses.replace(finding, file=copy)
        for finding in findings
        if finding.framework == framework
        for copy in copies.get(finding.file, ())
    ]
    return findings + repeated


class CheckovServer:
    """policy/checkov_server.py in .venv-checkov: checkov imported once, each scan a fork of it.

    Scans run side by side (the gate starts the repository's while it plans, each stack's model as soon as it is
    planned), each in one process; a folder's secrets are split between `secrets_parts` forks. Reports go to
    files in a temporary folder, so a scan never blocks on a full pipe. Used as a context manager; leaving it
    early stops every scan still running.
    """

    def __init__(self, root: Path, external_checks: Path, secrets_parts: int = SECRETS_PARTS) -> None:
        python = checkov_binary(root).with_name("python")
        self._secrets_parts = secrets_parts
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "ANSI_COLORS_DISABLED": "1", "LOG_LEVEL": "WARNING"}
        env.pop("BC_API_KEY", None)
        self._checks = external_checks.resolve()
        self._folder = tempfile.TemporaryDirectory(prefix="checkov-")  # removed in __exit__
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self._process = subprocess.Popen(
            [str(python), str(root / "policy" / "checkov_server.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env, cwd=root, text=True,
            start_new_session=True,  # its own process group: __exit__ can stop the scans it forked
        )  # fmt: skip
        self._answers: dict[str, dict[str, Any]] = {}
        self._count = 0

    def __enter__(self) -> CheckovServer:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=None if exc_type is None else 0)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._folder.cleanup()
        self._stderr.close()

    def _submit(self, argv: list[str], cwd: Path, **extra: Any) -> str:
        self._count += 1
        request_id = str(self._count)
        request = {"id": request_id, "argv": argv, "report": str(self.report(request_id)), "cwd": str(cwd)}
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({**request, **extra}) + "\n")
        self._process.stdin.flush()
        return request_id

    def report(self, request_id: str) -> Path:
        """The file the scan `request_id` writes its JSON report to."""
        return Path(self._folder.name) / f"{request_id}.json"

    def wait(self, request_id: str) -> dict[str, Any]:
        """The server's answer for `request_id` once its scan has ended (PlanError if the server died)."""
        assert self._process.stdout is not None
        while request_id not in self._answers:
            line = self._process.stdout.readline()
            if not line:
                msg = f"the checkov server stopped (exit {self._process.wait()}): {self.stderr_tail()}"
                raise PlanError(msg)
            answer = json.loads(line)
            self._answers[answer["id"]] = answer
        return self._answers.pop(request_id)

    def stderr_tail(self) -> str:
        """The last 2,000 characters the server and its scans wrote to stderr."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()[-2000:]

    def scan(
        self,
        target: Path,
        frameworks: Iterable[str] = FRAMEWORKS,
        skipped_paths: Iterable[str] = (),
        secrets_skipped_paths: Iterable[str] = (),
    ) -> CheckovJob:
        """Start one offline checkov scan of `target` (a folder, or one file) with our custom checks loaded.

        A folder's secrets are a scan of their own: checkov's secrets walk of the folder (also skipping
        `secrets_skipped_paths`), each distinct file read once (policy/checkov_server.py, `distinct_files`), its
        findings repeated for its copies, the files split by size between `secrets_parts` forks.
        """
        target = target.resolve()
        frameworks = list(frameworks)
        skips = [*SKIPPED_PATHS, *skipped_paths]
        cwd = target if target.is_dir() else target.parent
        options = [
            "--external-checks-dir", str(self._checks),
            "--output", "json",
            # No --quiet: in JSON it drops the passed checks, which the gate counts.
            "--compact", "--skip-download",
            # Without it the secrets framework reads only IaC files (.tf, .yml, .json ...), not code or .env.
            "--enable-secret-scan-all-files",
            *(option for pattern in skips for option in ("--skip-path", pattern)),
        ]  # fmt: skip
        ids = []
        if target.is_dir() and "secrets" in frameworks:
            frameworks.remove("secrets")
            ids.append(
                self._submit(
                    ["--framework", "secrets", *options],
                    cwd,
                    secrets_root=str(target),
                    skip_paths=[*skips, *secrets_skipped_paths],
                    parts=self._secrets_parts,
                )
            )
        if frameworks:
            where = ["--directory" if target.is_dir() else "--file", str(target)]
            ids.append(self._submit([*where, "--framework", *frameworks, *options], cwd))
        return CheckovJob(self, ids)


def run_checkov(
    root: Path,
    scan_root: Path,
    external_checks: Path,
    frameworks: Iterable[str] = FRAMEWORKS,
    skipped_paths: Iterable[str] = (),
) -> list[Finding]:
    """Every check result of one offline checkov scan of `scan_root` with our custom checks loaded."""
    with CheckovServer(root, external_checks) as server:
        return server.scan(scan_root, frameworks, skipped_paths).findings()


def declared_skips(template: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(checkov resource ID, check ID) -> reason, for every skip in an ARM model's resource metadata."""
    skips: dict[tuple[str, str], str] = {}
    for resource in template.get("resources", []):
        resource_id = f"{resource['type']}.{resource['name']}"
        for comment in (resource.get("metadata") or {}).get("checkov", []):
            check_id, _, reason = comment.removeprefix("checkov:skip=").partition(":")
            skips[(resource_id, check_id.strip())] = reason.strip()
    return skips


def apply_graph_waivers(findings: list[Finding], templates: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Failed graph checks that a resource's metadata waives, turned into skipped results with the reason."""
    applied = []
    for finding in findings:
        template = templates.get(finding.file)
        reason = declared_skips(template).get((finding.resource, finding.check_id)) if template else None
        if finding.result == "failed" and reason is not None:
            finding = Finding(**{**finding.__dict__, "result": "skipped", "reason": reason, "details": ()})
        applied.append(finding)
    return applied
