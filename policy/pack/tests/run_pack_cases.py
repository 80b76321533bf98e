"""Run each pack policy's validate function on cases read from stdin (JSON); print what each reported.

Runs in the pack's own environment (.venv-policy), where pulumi-policy is installed: the repository's
tests feed it inputs captured from the mock engine and compare the reports with the rules' verdicts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from policy.pack.aml_pack import policies


def _options(protect: bool) -> PolicyResourceOptions:
    """Resource options as the Pulumi engine hands them to a policy: only `protect` varies here."""
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )


def main() -> None:
    cases = json.load(sys.stdin)
    by_name = {policy.name: policy for policy in policies()}
    results = []
    for case in cases:
        reported: list[str] = []
        args = ResourceValidationArgs(
            resource_type=case["token"],
            props=case["inputs"],
            urn=f"urn:pulumi:test::azure-mlops::{case['token']}::{case['label']}",
            name=case["label"],
            opts=_options(case.get("protect", False)),
            provider=None,
            config=case["config"],
        )
        by_name[case["policy"]].validate(args, lambda message, urn=None, sink=reported: sink.append(message))
        results.append({"label": case["label"], "reported": reported})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
