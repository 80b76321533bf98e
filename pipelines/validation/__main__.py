"""`python -m pipelines.validation [--repository NAME=PATH ...] [PATH ...]`: run every check; exit 1 if anything
is found. `--repository` gives the local checkout of a repository that `resources.repositories` declares (by its
`name:`), for `template: <path>@<alias>` references: e.g. a generated project's `cd.yml` includes the platform's
pools template, `--repository mlops/azure-mlops=.` from the platform's checkout."""

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipelines.validation.documents import PIPELINES_ROOT, anchors_and_aliases, discover, load
from pipelines.validation.rules import rule_findings
from pipelines.validation.schema import schema_errors
from pipelines.validation.templates import template_findings


def check_file(path: Path, repositories: Mapping[str, Path] | None = None) -> list[str]:
    """All findings for one file (`repositories`: repository name -> local checkout)."""
    anchors = anchors_and_aliases(path)
    if anchors:
        return [f"{a}: YAML anchors/aliases are rejected by Azure Pipelines" for a in anchors]
    document = load(path)
    findings = [f"{path}: schema: {e}" for e in schema_errors(document)]
    return findings + template_findings(document, repositories) + rule_findings(document)


def _repository(text: str) -> tuple[str, Path]:
    name, equals, path = text.rpartition("=")
    if not equals or not name or not Path(path).is_dir():
        msg = (
            f"--repository {text!r}: expected NAME=PATH, PATH an existing folder (the repository's checkout)"
        )
        raise argparse.ArgumentTypeError(msg)
    return name, Path(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, default=[PIPELINES_ROOT])
    parser.add_argument(
        "--repository",
        action="append",
        type=_repository,
        default=[],
        metavar="NAME=PATH",
        help="local checkout of a repository resource, by its declared name (repeatable)",
    )
    args = parser.parse_args(argv)
    repositories = dict(args.repository)
    files = [f for p in args.paths for f in (discover(p) if p.is_dir() else [p])]
    if not files:
        print(f"no YAML files under {[str(p) for p in args.paths]}", file=sys.stderr)
        return 1
    findings = [finding for path in files for finding in check_file(path, repositories)]
    for finding in findings:
        print(finding)
    print(f"{len(files)} files checked, {len(findings)} findings", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
