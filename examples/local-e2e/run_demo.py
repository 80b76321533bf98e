"""The whole MLOps loop on one machine, no Azure account: what `make demo` runs.

    python examples/local-e2e/run_demo.py [--keep-running] [--worse-candidate] [--data-file rows.csv] ...

1. start (or reuse) an MLflow tracking server on 127.0.0.1: sqlite registry, local artifact folder;
2. generate the project from templates/mlflow-project with its default answers (or reuse it);
3. run the project's own entry points: prep (validation) -> train -> evaluate (the gate) -> register;
4. serve @champion with the project's `serve`, batch-score two batches, report drift, smoke-test HTTP;
5. turn each drifted batch into the monitor-breach event Azure ML publishes and let the real lifecycle
   handler decide on it in dry-run mode: audit record, the retraining request it would send;
6. print a summary and stop what was started (unless --keep-running).

Exit codes: 0 the loop ran and a champion serves (a rejected candidate included); 1 a stage failed,
the data was refused, or there is no champion to serve; 2 bad options; 130 interrupted.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from local_e2e import lifecycle, processes, scoring_server, stages, tracking_server
from local_e2e.errors import DataValidationError, DemoError, NoChampionError
from local_e2e.options import DemoOptions, parse_options
from local_e2e.project import ProjectRunner, ensure_project
from local_e2e.registry import TrackingApi
from local_e2e.summary import DemoSummary, Progress, summary_table
from local_e2e.workdir import WorkPaths, exclusive
from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: list[str] | None = None) -> int:
    console = Console()
    try:
        options = parse_options(argv)
    except DemoError as err:
        console.print(f"[red]error:[/] {err}", highlight=False)
        return EXIT_USAGE
    paths = WorkPaths(options.workdir)
    paths.create()
    try:
        with exclusive(paths):
            if options.stop:
                return stop_left_running(paths, console)
            return run(options, paths, console)
    except DemoError as err:  # the lock is held by another demo
        console.print(f"[red]error:[/] {err}", highlight=False)
        return EXIT_FAILED


def run(options: DemoOptions, paths: WorkPaths, console: Console) -> int:
    summary = DemoSummary(workdir=str(paths.root))
    progress = Progress(console, summary)
    started = time.perf_counter()
    start_ms = int(time.time() * 1000)
    tracking: tracking_server.TrackingServer | None = None
    runner: ProjectRunner | None = None
    serving: scoring_server.ScoringServer | None = None
    warm: scoring_server.WarmStart | None = None
    try:
        # Start (or reuse) the tracking server. It boots while the project is generated and the data
        # prepared, neither of which talks to MLflow, and is waited for only before training.
        with progress.stage("tracking server", "starting mlflow server on 127.0.0.1") as stage:
            tracking = tracking_server.ensure_tracking_server(options, paths)
            summary.tracking_url = tracking.url
            stage.status = "reused" if tracking.reused else "ok"
            stage.detail = (
                f"{'reusing' if tracking.reused else 'booting'} {tracking.url} (pid {tracking.record.pid})"
            )

        # Generate the project from the template with its default answers, or reuse it.
        with progress.stage(
            "project", f"cookiecutter templates/mlflow-project ({options.variant.name})"
        ) as stage:
            choice = ensure_project(paths, regenerate=options.regenerate, variant=options.variant)
            project = choice.project
            summary.model_name = project.slug
            summary.project = {
                "path": str(project.root),
                "package": project.package,
                "decision": choice.reason,
            }
            stage.status = "ok" if choice.generated else "reused"
            stage.detail = f"{project.root.name}: {choice.reason}"
        # One project worker runs every step (prep ... drift): the libraries are imported once.
        runner = ProjectRunner(
            project, tracking.url, paths.logs, options.stage_timeout, options.variant.python
        )

        # prep: load the sample (or --data-file) and validate it against the project's schema.
        with progress.stage("prep", f"python -m {project.package}.prep") as stage:
            stage.detail = stages.prepare(runner, options)

        # The batches to score later need only prep's output; they, and importing the later steps'
        # libraries, keep the worker busy while the tracking server finishes booting.
        making_batches = stages.start_batches(runner, options, paths)
        stages.preload(runner)

        # Training logs to MLflow: from here on the tracking server must answer.
        with progress.stage("tracking ready", f"waiting for {tracking.url}/health") as stage:
            waited = tracking_server.wait_for(tracking, options)
            stage.detail = f"{tracking.url} answered after {waited:.1f} s more"
        api = TrackingApi(tracking.url)
        summary.champion_before = api.champion(project.slug)

        # The scoring server imports its libraries now, on the core training leaves idle; it resolves
        # @champion and starts serving only after registration (the serve stage).
        warm = scoring_server.start_warm(runner, paths, port=options.serving_port, avoid=tracking.record.port)

        # train a candidate; --worse-candidate trains a deliberately weak one.
        with progress.stage("train", f"python -m {project.package}.{options.variant.train_module}") as stage:
            candidate = stages.train(runner, options)
            stage.detail = f"run {candidate['run_id']}" + (
                " (deliberately worse)" if options.worse_candidate else ""
            )

        # evaluate: the gate compares the candidate with the current champion on the held-out rows.
        with progress.stage("evaluate", f"python -m {project.package}.evaluate (the gate)") as stage:
            verdict = stages.evaluate(runner)
            summary.gate = verdict
            stage.status = "ok" if verdict["passed"] else "rejected"
            stage.detail = "passed" if verdict["passed"] else "; ".join(verdict["failures"])[:160]

        # register only a passing candidate; @champion moves in the same step.
        if verdict["passed"]:
            with progress.stage("register", f"python -m {project.package}.register") as stage:
                summary.registered_version = stages.register(runner)
                stage.detail = f"{project.slug} v{summary.registered_version} is @champion"
        else:
            progress.skip("register", "the gate rejected the candidate: the registry is unchanged")
        summary.champion_after = api.champion(project.slug)
        if summary.champion_after is None:
            msg = (
                f"{project.slug} has no @champion: the first candidate was rejected, so there is nothing to "
                "serve; run the demo without --worse-candidate first"
            )
            raise NoChampionError(msg)

        # serve @champion in the background: it starts while the batches are scored.
        with progress.stage("serve", f"python -m {project.package}.serve") as stage:
            serving = scoring_server.ensure_scoring_server(
                runner,
                paths,
                champion=summary.champion_after,
                port=options.serving_port,
                avoid=tracking.record.port,
                warm=warm,
            )
            stage.status = "reused" if serving.reused else "ok"
            how = "reusing" if serving.reused else "started warm" if warm is not None else "booting"
            stage.detail = f"{how} v{serving.version} on {serving.url}"

        # batch-score an unshifted and a shifted batch with the project's score_batch.
        with progress.stage("batch", f"python -m {project.package}.score_batch") as stage:
            batches = stages.batches_made(making_batches)
            scored = stages.score_batches(runner, batches, paths)
            summary.batch = {
                "rows": batches["rows"],
                "output": scored["batch"],
                "shifted_output": scored["batch_shifted"],
            }
            stage.detail = f"{batches['rows']} rows x 2 batches -> {paths.batches}"

        # drift: each scored batch against the training rows, logged to MLflow as a run with artifacts.
        with progress.stage("drift", "statistics, plot and verdict per batch") as stage:
            summary.drift = stages.drift_report(runner, options, paths, scored)
            stage.detail = "; ".join(
                f"{d['batch']}: {'DRIFT' if d['drift'] else 'no drift'}" for d in summary.drift
            )

        # lifecycle event: a drifted batch becomes the RunStatusChanged event Azure ML publishes for a monitor
        # breach, and the real lifecycle handler decides on it in dry-run mode (audit record, retraining request).
        with progress.stage(
            "lifecycle event", "drift breach -> RunStatusChanged -> handler (dry run)"
        ) as stage:
            reactions = lifecycle.react_to_drift(
                summary.drift,
                model_name=project.slug,
                psi_threshold=options.drift_psi,
                store=paths.audit_store,
            )
            summary.lifecycle = [reaction.summary() for reaction in reactions]
            stage.detail = (
                "; ".join(f"{r.batch}: monitor breach -> handler {r.status}" for r in reactions)
                or "no batch drifted: no event"
            ) + f"; audit: {paths.audit_store}"
        for reaction in reactions:
            for request in reaction.requests:
                console.print(
                    f"  would send: {request['method']} {request['url']}\n  {json.dumps(request['body'])}",
                    highlight=False,
                    soft_wrap=True,
                )

        # smoke test over HTTP: a valid body answers predictions, a malformed one a 4xx naming the problem.
        with progress.stage("smoke test", f"POST {serving.url}/invocations") as stage:
            waited = scoring_server.wait_for(serving, options.startup_timeout)
            smoke = scoring_server.smoke_test(
                serving.url,
                Path(batches["request"]),
                Path(batches["request_malformed"]),
                dropped_column=batches["dropped_column"],
            )
            summary.endpoint = {
                "url": serving.url,
                "version": serving.version,
                "reused": serving.reused,
                "predictions": smoke.predictions,
                "dropped_column": batches["dropped_column"],
                "malformed_status": smoke.malformed_status,
                "malformed_message": smoke.malformed_message,
            }
            stage.detail = f"{len(smoke.predictions)} predictions; malformed -> {smoke.malformed_status} (ready after {waited:.1f} s more)"

        summary.outcome = (
            f"v{summary.champion_after} registered and serving"
            if verdict["passed"]
            else f"candidate rejected, v{summary.champion_after} keeps serving"
        )
        summary.exit_code = EXIT_OK
    except KeyboardInterrupt:
        summary.outcome, summary.exit_code = "interrupted", EXIT_INTERRUPTED
        summary.error = "interrupted: registration happens only after a passing verdict, so the registry holds no half-registered state"
    except DataValidationError as err:
        summary.outcome, summary.exit_code, summary.error = "stopped at validation", EXIT_FAILED, str(err)
    except DemoError as err:
        summary.outcome, summary.exit_code, summary.error = "failed", EXIT_FAILED, str(err)
    finally:
        if runner is not None:
            runner.close()  # the worker ends with its input; unfinished work is stopped
        if warm is not None and (serving is None or serving.process is not warm.process):
            warm.discard()  # the loop stopped before serving, or a running server was reused
        finish(summary, options, paths, tracking, serving, start_ms)
        summary.total_seconds = time.perf_counter() - started
        summary.write(paths.summary)
        console.print(summary_table(summary))
    return summary.exit_code


def finish(
    summary: DemoSummary,
    options: DemoOptions,
    paths: WorkPaths,
    tracking: tracking_server.TrackingServer | None,
    serving: scoring_server.ScoringServer | None,
    start_ms: int,
) -> None:
    """Read what the registry holds now, list where to look, then stop the servers (or leave them up)."""
    if tracking is not None and summary.model_name and processes.is_healthy(f"{tracking.url}/health"):
        try:
            api = TrackingApi(tracking.url)
            summary.versions = [vars(v) for v in api.versions(summary.model_name)]
            summary.runs = [vars(r) for r in api.runs_since(summary.model_name, start_ms)]
        except (DemoError, OSError) as err:
            summary.error = (summary.error or "") + f" (could not read the registry: {err})"
    summary.files = {
        "summary": str(paths.summary),
        "logs": str(paths.logs),
        "batches": str(paths.batches),
        "drift reports": str(paths.drift),
        "audit records": str(paths.audit_store),
    }
    keep = options.keep_running and summary.exit_code == EXIT_OK
    for server in (serving, tracking):
        if server is None:
            continue
        if keep:
            summary.kept_running.append(f"{server.record.name}: {server.url} (pid {server.record.pid})")
        else:
            server.stop()


def stop_left_running(paths: WorkPaths, console: Console) -> int:
    """--stop: stop the servers a --keep-running demo recorded, if they are still the demo's."""
    for record_path in (paths.scoring_record, paths.tracking_record):
        record = processes.ServerRecord.read(record_path)
        if record is None:
            continue
        if record.is_running():
            processes.stop(record.pid)
            console.print(f"stopped {record.name} (pid {record.pid}, {record.url})")
        else:
            console.print(f"{record.name} (pid {record.pid}) was no longer running: removed its stale record")
        record_path.unlink(missing_ok=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
