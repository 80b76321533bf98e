"""The summary a user reads: versions with aliases, the gate, the endpoint's answer, drift, where to look."""

from __future__ import annotations

import re
from pathlib import Path

from local_e2e.summary import (
    DemoSummary,
    StageTiming,
    drift_line,
    endpoint_line,
    gate_line,
    stage_line,
    summary_table,
    versions_line,
)
from rich.console import Console


def _summary() -> DemoSummary:
    return DemoSummary(
        workdir="/w",
        model_name="diabetes-progression",
        outcome="candidate rejected, v1 keeps serving",
        project={"path": "/w/diabetes-progression", "decision": "reused: the template is unchanged"},
        tracking_url="http://127.0.0.1:5500",
        champion_before="1",
        champion_after="1",
        gate={"passed": False, "champion_version": "1", "failures": ["r2_score threshold check failed"]},
        versions=[{"version": "1", "aliases": ["champion"]}],
        runs=[{"name": "train", "run_id": "abc123", "status": "FINISHED", "url": "u"}],
        endpoint={
            "url": "http://127.0.0.1:5501",
            "version": "1",
            "reused": True,
            "predictions": [151.25, 98.0],
            "dropped_column": "age",
            "malformed_status": 400,
            "malformed_message": "Model is missing inputs ['age']",
        },
        drift=[
            {
                "batch": "batch",
                "drift": False,
                "drifted_features": [],
                "max_psi": 0.157,
                "top_feature": "bmi",
            },
            {"batch": "batch_shifted", "drift": True, "drifted_features": ["bmi", "s5"], "max_psi": 2.0},
        ],
        stages=[
            StageTiming("train", 9.25, "ok", "run abc123"),
            StageTiming("register", 0.0, "skipped", "rejected"),
        ],
        files={"summary": "/w/summary.json"},
        kept_running=["MLflow scoring server: http://127.0.0.1:5501 (pid 42)"],
    )


def test_versions_show_their_aliases() -> None:
    assert versions_line([]) == "none registered"
    assert versions_line([{"version": "1", "aliases": []}, {"version": "2", "aliases": ["champion"]}]) == (
        "v1, v2 @champion"
    )


def test_gate_line_says_what_was_compared_and_why_it_failed() -> None:
    summary = _summary()
    assert gate_line(summary) == "REJECTED against champion v1: r2_score threshold check failed"
    summary.gate = {"passed": True, "champion_version": None, "failures": []}
    summary.registered_version = "1"
    assert gate_line(summary) == "PASSED against no champion yet: registered v1 as @champion"


def test_drift_lines_give_the_verdict_and_the_features() -> None:
    unshifted, shifted = _summary().drift
    assert drift_line(unshifted) == "batch: no drift (max PSI 0.16, bmi)"
    assert drift_line(shifted) == "batch_shifted: DRIFT in bmi, s5 (max PSI 2.00)"


def test_endpoint_line_shows_predictions_and_the_4xx() -> None:
    line = endpoint_line(_summary().endpoint)
    assert line.startswith("http://127.0.0.1:5501/invocations (reused, serving v1): [151.2, 98.0]")
    assert line.endswith("a body without 'age' answered 400")


def test_stage_line_has_name_seconds_and_detail() -> None:
    # Names pad to 16 columns and seconds to 6, so the stage lines of a run align.
    line = stage_line(StageTiming("train", 9.25, "ok", "run abc"))
    assert line == "[green]✓[/] train" + " " * 15 + "9.2 s  run abc"


def test_the_table_tells_where_to_look_and_how_to_stop() -> None:
    console = Console(record=True, width=200)
    console.print(summary_table(_summary()))
    text = console.export_text()
    for expected in (
        "Demo summary: candidate rejected, v1 keeps serving",
        "diabetes-progression: v1 @champion (champion before: v1, after: v1)",
        "train: abc123",
        "summary: /w/summary.json",
        "stop with: make demo DEMO_ARGS=--stop",
    ):
        assert expected in text
    assert re.search(r"MLflow UI\s+│ http://127\.0\.0\.1:5500", text)


def test_summary_round_trips_through_json(tmp_path: Path) -> None:
    summary = _summary()
    summary.write(tmp_path / "summary.json")
    assert DemoSummary.read(tmp_path / "summary.json") == summary
