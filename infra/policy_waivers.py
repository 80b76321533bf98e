"""Checkov skips, declared next to the resource they waive and carried into the ARM model.

A component that cannot meet a checkov check calls `waive_check` beside the resource declaration,
with the check ID and the reason a reviewer should accept. The offline plan collects the waivers of
a run and writes them into that resource's ARM metadata (`checkov:skip=ID: reason`), the only place
checkov reads skips from; `make scan` prints every one. Outside the offline plan (a real `pulumi up`)
recording a waiver has no effect on Azure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

CHECK_ID_PATTERN = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
"""A checkov check ID: built-in (CKV_AZURE_35, CKV2_AZURE_49) or ours (CKV_AMLOPS_1)."""
MIN_REASON_LENGTH = 30
"""A reason shorter than this cannot say why the finding is acceptable."""


class InvalidWaiver(ValueError):
    """Raised when a waiver's check ID is malformed, its reason too short, or it repeats a waiver."""


@dataclass(frozen=True)
class Waiver:
    """One checkov check skipped for one resource."""

    resource: str
    """Logical (Pulumi) name of the waived resource."""
    check_id: str
    """The checkov check ID skipped."""
    reason: str
    """Why the finding is acceptable here, for reviewers of the scan."""

    def checkov_comment(self) -> str:
        """The skip as checkov reads it from ARM metadata."""
        return f"checkov:skip={self.check_id}: {self.reason}"


_recorded: list[Waiver] = []


def waive_check(resource: str, check_id: str, reason: str) -> Waiver:
    """Record that `resource` (its logical name) skips checkov check `check_id`, because `reason`."""
    if not CHECK_ID_PATTERN.match(check_id):
        msg = f"waiver for {resource!r}: check_id {check_id!r} does not match {CHECK_ID_PATTERN.pattern}"
        raise InvalidWaiver(msg)
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_LENGTH:
        msg = (
            f"waiver of {check_id} for {resource!r}: reason {reason!r} is shorter than "
            f"{MIN_REASON_LENGTH} characters; say why the finding is acceptable"
        )
        raise InvalidWaiver(msg)
    if any(w.resource == resource and w.check_id == check_id for w in _recorded):
        msg = f"waiver of {check_id} for {resource!r} is declared twice"
        raise InvalidWaiver(msg)
    waiver = Waiver(resource, check_id, reason)
    _recorded.append(waiver)
    return waiver


def public_profile_reason(tags: Mapping[str, str], why: str) -> str:
    """The reason for a skip that the stack's public network profile causes, naming the stack's own
    environment (from its `environment` tag): a reviewer of a staging or pr42 scan must not read "dev"."""
    return f"public network profile of the {tags['environment']!r} stack: {why}"


def take_recorded() -> list[Waiver]:
    """The waivers recorded since the last call, clearing the record (one program run each)."""
    taken = list(_recorded)
    _recorded.clear()
    return taken
