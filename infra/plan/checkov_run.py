"""Run the pinned checkov (its own environment, .venv-checkov) offline and read its JSON report.

checkov cannot share the program's environment (it pins `packaging<24`, pulumi needs `>=26`), so it
runs as a subprocess. Offline means: no mapping download (BC_SKIP_MAPPING), no guideline download
(--skip-download), no API key. checkov 3.3.30 does not apply ARM metadata skips to its graph checks
(CKV2_*); `apply_graph_waivers` applies those from the same metadata, so a waiver means one thing.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.errors import PlanError

FRAMEWORKS = ("arm", "azure_pipelines", "github_actions", "dockerfile", "secrets")
"""What the gate asks checkov to scan."""
SKIPPED_PATHS = (r"\.venv", r"\.tools", r"\.git/", r"_cache", r"node_modules", r"\{\{")
"""Path patterns checkov leaves out: environments, caches and unrendered template sources."""


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


class CheckovScan:
    """One offline checkov process, started and not yet read: several can run while the gate plans.

    Its report goes to a temporary file rather than a pipe, so a scan that finishes before the gate reads it
    never blocks on a full pipe. Used as a context manager, it stops the process if the gate gives up early.
    """

    def __init__(self, command: list[str], cwd: Path) -> None:
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "ANSI_COLORS_DISABLED": "1", "LOG_LEVEL": "WARNING"}
        env.pop("BC_API_KEY", None)
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self._process = subprocess.Popen(command, stdout=self._stdout, stderr=self._stderr, env=env, cwd=cwd)

    def __enter__(self) -> CheckovScan:
        return self

    def __exit__(self, *_: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._stdout.close()
        self._stderr.close()

    def wait(self) -> None:
        """Block until the process has exited."""
        self._process.wait()

    def findings(self) -> list[Finding]:
        """Wait for the process and read its report (PlanError when checkov crashed or was misused)."""
        returncode = self._process.wait()
        self._stdout.seek(0)
        self._stderr.seek(0)
        stdout = self._stdout.read().decode()
        # checkov exits 1 when a check fails; anything else is a crash or a usage error.
        if returncode not in (0, 1):
            stderr = self._stderr.read().decode(errors="replace")
            msg = f"checkov exited {returncode}: {stderr.strip()[-2000:]}"
            raise PlanError(msg)
        return [f for document in _documents(stdout) for f in _findings(document)]


def start_checkov(
    root: Path,
    scan_root: Path,
    external_checks: Path,
    frameworks: Iterable[str] = FRAMEWORKS,
    skipped_paths: Iterable[str] = (),
) -> CheckovScan:
    """Start one offline checkov run over `scan_root` with our custom checks loaded."""
    command = [
        str(checkov_binary(root)),
        "--directory", str(scan_root),
        "--framework", *frameworks,
        "--external-checks-dir", str(external_checks),
        "--output", "json",
        # No --quiet: in JSON it drops the passed checks, which the gate counts.
        "--compact", "--skip-download",
        # Without it the secrets framework reads only IaC files (.tf, .yml, .json ...), not code or .env.
        "--enable-secret-scan-all-files",
    ]  # fmt: skip
    for pattern in (*SKIPPED_PATHS, *skipped_paths):
        command += ["--skip-path", pattern]
    return CheckovScan(command, scan_root)


def run_checkov(
    root: Path,
    scan_root: Path,
    external_checks: Path,
    frameworks: Iterable[str] = FRAMEWORKS,
    skipped_paths: Iterable[str] = (),
) -> list[Finding]:
    """Every check result of one offline checkov run over `scan_root` with our custom checks loaded."""
    with start_checkov(root, scan_root, external_checks, frameworks, skipped_paths) as scan:
        return scan.findings()


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
