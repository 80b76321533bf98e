"""`python -m pipelines.validation [PATH ...]`: run every check; exit 1 if anything is found."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.validation.documents import PIPELINES_ROOT, anchors_and_aliases, discover, load
from pipelines.validation.rules import rule_findings
from pipelines.validation.schema import schema_errors
from pipelines.validation.templates import template_findings


def check_file(path: Path) -> list[str]:
    """All findings for one file."""
    anchors = anchors_and_aliases(path)
    if anchors:
        return [f"{a}: YAML anchors/aliases are rejected by Azure Pipelines" for a in anchors]
    document = load(path)
    findings = [f"{path}: schema: {e}" for e in schema_errors(document)]
    return findings + template_findings(document) + rule_findings(document)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, default=[PIPELINES_ROOT])
    args = parser.parse_args(argv)
    files = [f for p in args.paths for f in (discover(p) if p.is_dir() else [p])]
    if not files:
        print(f"no YAML files under {[str(p) for p in args.paths]}", file=sys.stderr)
        return 1
    findings = [finding for path in files for finding in check_file(path)]
    for finding in findings:
        print(finding)
    print(f"{len(files)} files checked, {len(findings)} findings", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
