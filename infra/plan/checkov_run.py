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


def run_checkov(
    root: Path,
    scan_root: Path,
    external_checks: Path,
    frameworks: Iterable[str] = FRAMEWORKS,
    skipped_paths: Iterable[str] = (),
) -> list[Finding]:
    """Every check result of one offline checkov run over `scan_root` with our custom checks loaded."""
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
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "ANSI_COLORS_DISABLED": "1", "LOG_LEVEL": "WARNING"}
    env.pop("BC_API_KEY", None)
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=scan_root)
    # checkov exits 1 when a check fails; anything else is a crash or a usage error.
    if completed.returncode not in (0, 1):
        msg = f"checkov exited {completed.returncode}: {completed.stderr.strip()[-2000:]}"
        raise PlanError(msg)
    return [f for document in _documents(completed.stdout) for f in _findings(document)]


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
