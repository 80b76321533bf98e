"""Waivers: declared next to the resource, validated, and carried into the ARM model's metadata."""

from __future__ import annotations

from typing import Any

import pytest

from infra.policy_waivers import InvalidWaiver, take_recorded, waive_check


def test_waivers_reach_the_metadata_of_their_resource(templates: dict[str, Any]) -> None:
    skips = {
        r["metadata"]["azureMlops"]["logicalName"]: r["metadata"].get("checkov", [])
        for r in templates["dev"]["resources"]
    }
    assert any(
        s.startswith("checkov:skip=CKV2_AZURE_49: public network profile")
        for s in skips["workspace-workspace"]
    )
    assert all(s.startswith("checkov:skip=CKV") for values in skips.values() for s in values)
    prod = [s for r in templates["prod"]["resources"] for s in r["metadata"].get("checkov", [])]
    assert not any("public network profile" in s for s in prod)


def test_a_waiver_needs_a_check_id_and_a_reason() -> None:
    with pytest.raises(InvalidWaiver) as bad_id:
        waive_check("workspace-workspace", "AZURE_1", "a reason that is long enough to be read")
    assert "'AZURE_1'" in str(bad_id.value)
    with pytest.raises(InvalidWaiver) as short:
        waive_check("workspace-workspace", "CKV_AZURE_1", "because")
    assert "shorter than" in str(short.value)
    waive_check("x", "CKV_AZURE_1", "a reason that is long enough to be read")
    with pytest.raises(InvalidWaiver) as twice:
        waive_check("x", "CKV_AZURE_1", "a reason that is long enough to be read")
    assert "declared twice" in str(twice.value)
    assert [w.check_id for w in take_recorded()] == ["CKV_AZURE_1"]
