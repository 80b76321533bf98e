"""`make demo`'s flow for real, as a user runs it: one MLflow server and one generated project for the module.

The scenario runs once (even when pytest-xdist spreads these tests over workers: the first worker runs it
under a file lock and the others read its results) and keeps the servers up between runs, so the scoring
server starts only twice: for v1 and for the v2 a better candidate earns.

1. first run (a stale server record is planted first: it must be recovered from) -> v1 @champion, served;
2. the same run again -> trains again, the gate rejects an equal model, v1 keeps serving (server reused);
3. --worse-candidate -> rejected on the absolute thresholds, v1 keeps serving;
4. --data-file with broken rows -> stops at validation, nothing trained or registered;
5. better training flags -> v2 @champion, the endpoint restarted on v2, everything stopped at the end.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from local_e2e.processes import ServerRecord
from local_e2e.scoring_server import post_json
from local_e2e.summary import DemoSummary

from tests.examples.conftest import LOCAL_E2E

pytestmark = pytest.mark.slow

RUN_DEMO = LOCAL_E2E / "run_demo.py"
BETTER = "--max-depth 2 --n-estimators 100"
RUN_TIMEOUT = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        tracking = _free_port()
        serving = _free_port()
        self.base = [
            "--workdir",
            str(workdir),
            "--tracking-port",
            str(tracking),
            "--serving-port",
            str(serving),
        ]

    def run(self, *args: str) -> dict[str, Any]:
        completed = subprocess.run(
            [sys.executable, str(RUN_DEMO), *self.base, *args],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
            env={**os.environ, "COLUMNS": "200"},
        )
        summary = json.loads((self.workdir / "summary.json").read_text(encoding="utf-8"))
        return {"returncode": completed.returncode, "stdout": completed.stdout, "summary": summary}

    def records(self) -> list[ServerRecord]:
        found = (ServerRecord.read(self.workdir / "run" / name) for name in ("tracking.json", "scoring.json"))
        return [record for record in found if record is not None]

    def probe(self, summary: dict[str, Any]) -> dict[str, Any]:
        """What a user's own client sees from the kept endpoint: the demo's request bodies, posted again."""
        url = f"{summary['endpoint']['url']}/invocations"
        batches = self.workdir / "batches"
        status, answer = post_json(url, (batches / "request.json").read_bytes())
        bad_status, bad_answer = post_json(url, (batches / "request_malformed.json").read_bytes())
        return {"status": status, "answer": answer, "bad_status": bad_status, "bad_answer": bad_answer}


def _broken_rows(project: Path, target: Path) -> Path:
    rows = pd.read_parquet(project / "artifacts" / "prepared" / "train.parquet")
    rows.loc[3, "bmi"] = 700.0  # BMI in the wrong unit
    rows.drop(columns=["s6"]).to_csv(target, index=False)
    return target


def _scenario(workdir: Path) -> dict[str, Any]:
    demo = Demo(workdir)
    results: dict[str, Any] = {}
    # A record left by an interrupted demo: its PID is long gone.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ServerRecord("mlflow tracking server", dead.pid, 5999, "http://127.0.0.1:5999", "-", ("mlflow",)).write(
        workdir / "run" / "tracking.json"
    )
    try:
        results["first"] = demo.run("--keep-running")
        results["first_probe"] = demo.probe(results["first"]["summary"])
        results["second"] = demo.run("--keep-running")
        results["worse"] = demo.run("--worse-candidate", "--keep-running")
        results["worse_probe"] = demo.probe(results["worse"]["summary"])
        project = Path(results["first"]["summary"]["project"]["path"])
        bad = _broken_rows(project, workdir / "broken.csv")
        results["bad_data"] = demo.run("--data-file", str(bad), "--keep-running")
        results["better"] = demo.run("--train-args", BETTER)
        results["left_running"] = [record.pid for record in demo.records() if record.is_running()]
    finally:
        subprocess.run([sys.executable, str(RUN_DEMO), *demo.base, "--stop"], timeout=120, check=False)
    return results


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # One folder for every xdist worker of this session (their basetemps share a parent); without xdist the
    # parent is shared by every session on the machine, and an earlier session's results must not be reused.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base
    results_file = shared / "local-demo-scenario.json"
    with (shared / "local-demo-scenario.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel even if the holder dies
        if not results_file.exists():
            workdir = shared / "local-demo"
            workdir.mkdir(exist_ok=True)
            results_file.write_text(json.dumps(_scenario(workdir)), encoding="utf-8")
    return json.loads(results_file.read_text(encoding="utf-8"))


def _versions(summary: dict[str, Any]) -> dict[str, list[str]]:
    return {version["version"]: version["aliases"] for version in summary["versions"]}


def test_first_run_registers_v1_as_champion_and_serves_it(scenario: dict[str, Any]) -> None:
    first = scenario["first"]
    summary = first["summary"]
    assert first["returncode"] == 0, first["stdout"]
    assert summary["outcome"] == "v1 registered and serving"
    assert summary["gate"]["passed"] and summary["gate"]["champion_version"] is None
    assert _versions(summary) == {"1": ["champion"]}
    assert summary["champion_before"] is None and summary["champion_after"] == "1"
    assert {"train", "evaluate", "drift-batch", "drift-batch_shifted"} <= {
        run["name"] for run in summary["runs"]
    }
    assert "Demo summary: v1 registered and serving" in first["stdout"]
    assert summary["project"]["decision"] == "generated: first run in this work folder"


def test_a_stale_record_from_an_interrupted_demo_is_recovered(scenario: dict[str, Any]) -> None:
    stages = {stage["name"]: stage for stage in scenario["first"]["summary"]["stages"]}
    assert stages["tracking server"]["status"] == "ok"
    assert stages["tracking server"]["detail"].startswith("booting http://127.0.0.1:")


def test_the_endpoint_answers_predictions_and_a_4xx_naming_the_missing_column(
    scenario: dict[str, Any],
) -> None:
    endpoint = scenario["first"]["summary"]["endpoint"]
    assert endpoint["url"].startswith("http://127.0.0.1:")
    assert len(endpoint["predictions"]) == 3
    assert all(25 <= value <= 346 for value in endpoint["predictions"])  # the target's observed range
    assert endpoint["malformed_status"] == 400
    assert "age" in endpoint["malformed_message"]
    probe = scenario["first_probe"]
    assert probe["status"] == 200 and probe["answer"]["predictions"] == endpoint["predictions"]
    # The model's own schema check (validated_model), the same words batch scoring uses.
    assert (
        probe["bad_status"] == 400 and "column 'age': required but missing" in probe["bad_answer"]["message"]
    )


def test_drift_is_reported_for_the_shifted_batch_only(scenario: dict[str, Any]) -> None:
    drift = {item["batch"]: item for item in scenario["first"]["summary"]["drift"]}
    assert drift["batch"]["drift"] is False
    assert drift["batch_shifted"]["drift"] is True
    assert "bmi" in drift["batch_shifted"]["drifted_features"]
    for item in drift.values():
        folder = Path(item["folder"])
        assert {"stats.csv", "drift.png", "verdict.json"} <= {path.name for path in folder.iterdir()}
        assert item["run_id"]


def test_the_shifted_batchs_breach_goes_to_the_lifecycle_handler_which_would_queue_retraining(
    scenario: dict[str, Any],
) -> None:
    first = scenario["first"]
    summary = first["summary"]
    drift = {item["batch"]: item for item in summary["drift"]}
    (reaction,) = summary["lifecycle"]  # only the shifted batch drifted
    assert (reaction["batch"], reaction["status"]) == ("batch_shifted", "dry-run")
    assert reaction["event_id"] == drift["batch_shifted"]["run_id"]
    (request,) = reaction["requests"]
    assert request["method"] == "POST" and "/_apis/pipelines/" in request["url"]
    assert request["body"]["templateParameters"] == {
        "triggeringEventId": reaction["event_id"],
        "modelName": summary["model_name"],
    }
    assert f"would send: POST {request['url']}" in first["stdout"]
    audit = json.loads(Path(summary["files"]["audit records"]).read_text(encoding="utf-8"))
    record = next(r for r in audit.values() if r["RowKey"] == reaction["event_id"])
    assert (record["Kind"], record["Status"]) == ("monitor-breach", "completed")
    assert {stage["name"]: stage["status"] for stage in summary["stages"]}["lifecycle event"] == "ok"


def test_a_second_identical_run_trains_again_and_the_champion_stays(scenario: dict[str, Any]) -> None:
    first, second = scenario["first"]["summary"], scenario["second"]["summary"]
    assert scenario["second"]["returncode"] == 0
    assert second["outcome"] == "candidate rejected, v1 keeps serving"
    train_runs = [run["run_id"] for run in second["runs"] if run["name"] == "train"]
    assert len(train_runs) == 1 and train_runs[0] not in {run["run_id"] for run in first["runs"]}
    assert "minimum absolute change check failed" in " ".join(second["gate"]["failures"])
    assert _versions(second) == {"1": ["champion"]}
    assert second["project"]["decision"] == "reused: the template is unchanged"
    stages = {stage["name"]: stage["status"] for stage in second["stages"]}
    assert stages["tracking server"] == "reused" and stages["serve"] == "reused"
    assert stages["register"] == "skipped"


def test_a_worse_candidate_is_rejected_and_the_champion_keeps_serving(scenario: dict[str, Any]) -> None:
    worse = scenario["worse"]["summary"]
    assert scenario["worse"]["returncode"] == 0
    assert not worse["gate"]["passed"]
    assert "r2_score value threshold check failed" in " ".join(worse["gate"]["failures"])
    assert _versions(worse) == {"1": ["champion"]} and worse["champion_after"] == "1"
    assert worse["endpoint"]["version"] == "1"
    assert (
        scenario["worse_probe"]["answer"]["predictions"]
        == scenario["first"]["summary"]["endpoint"]["predictions"]
    )


def test_a_malformed_data_file_stops_at_validation_and_registers_nothing(scenario: dict[str, Any]) -> None:
    bad = scenario["bad_data"]
    summary = bad["summary"]
    assert bad["returncode"] == 1
    assert summary["outcome"] == "stopped at validation"
    assert "column 's6': required but missing" in summary["error"]
    assert "column 'bmi'" in summary["error"] and "700.0" in summary["error"]
    assert [stage["name"] for stage in summary["stages"]][-1] == "prep"
    assert _versions(summary) == {"1": ["champion"]}
    assert summary["runs"] == []


def test_a_better_candidate_becomes_champion_and_is_served(scenario: dict[str, Any]) -> None:
    better = scenario["better"]["summary"]
    assert scenario["better"]["returncode"] == 0, scenario["better"]["stdout"]
    assert better["gate"]["passed"] and better["gate"]["champion_version"] == "1"
    assert _versions(better) == {"1": [], "2": ["champion"]}
    assert better["versions"][1]["replaced_champion"] == "1"
    assert better["endpoint"]["version"] == "2" and better["endpoint"]["reused"] is False


def test_nothing_is_left_running_without_keep_running(scenario: dict[str, Any]) -> None:
    assert scenario["left_running"] == []
    assert scenario["better"]["summary"]["kept_running"] == []


def test_summary_json_matches_the_dataclass(scenario: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(scenario["better"]["summary"]))
    assert DemoSummary.read(path).model_name == "diabetes-progression"
