"""One long-lived Python process that runs the project's entry points, one after another, in the project's
environment (its src/ on PYTHONPATH): MLflow, pandas and scikit-learn are imported once, not once per step.

    python worker.py          (started by the demo; requests on stdin, one JSON object a line)

A request `{"id": 3, "target": "<package>.train", "argv": [...], "log": "logs/train.log"}` calls
`<target>.main(argv)`: the project's own command line, exactly what `python -m <package>.train ...` runs.
While it runs, file descriptors 1 and 2 point at `log`, so everything the step prints (its own lines,
logging, MLflow's progress bars, C extensions) goes to that step's log. A step that raises is reported
like a process that died of it: the traceback in its log, return code 1; `SystemExit` gives its code.
`{"id": 4, "preload": ["<package>.train", ...]}` only imports modules, so a later step starts warm.
Each request is answered on the original stdout with `{"id": ..., "returncode": ...}`; its CPU time goes
to the worker's own log (stderr), and LOCAL_DEMO_PROFILE=1 profiles each request (see `handle`).
The helpers beside this file (batches, drift_report) are targets too: this folder is sys.path[0].
"""

from __future__ import annotations

import cProfile
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PROFILE = "LOCAL_DEMO_PROFILE"


@contextmanager
def output_to(log: str) -> Iterator[None]:
    """Point fds 1 and 2 (and so sys.stdout, sys.stderr and every logging handler on them) at `log`."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "a", encoding="utf-8") as stream:  # noqa: PTH123 - an fd to dup, not a Path read
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def call(target: str, argv: list[str]) -> int:
    """`target.main(argv)` as a process would end: its return value, SystemExit's code, or 1 on an error."""
    try:
        code = importlib.import_module(target).main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if not isinstance(exit_.code, int | None):
            print(exit_.code, file=sys.stderr)
    except Exception:
        traceback.print_exc()
        code = 1
    finally:
        _end_open_runs()
    return int(code or 0)


def _end_open_runs() -> None:
    """A step that crashed inside a run must not leave it active for the next step."""
    mlflow = sys.modules.get("mlflow")
    while mlflow is not None and mlflow.active_run() is not None:
        mlflow.end_run(status="FAILED")


def preload(modules: list[str]) -> int:
    try:
        for module in modules:
            importlib.import_module(module)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def handle(request: dict[str, Any]) -> int:
    """Run one request; its CPU seconds go to the worker's log, and with LOCAL_DEMO_PROFILE=1 a cProfile
    of it (CPU time) to <step log>.prof."""
    started = time.process_time()
    profiler = cProfile.Profile(time.process_time) if os.environ.get(PROFILE) == "1" else None
    if profiler is not None:
        profiler.enable()
    if "preload" in request:
        code = preload(request["preload"])
    else:
        with output_to(request["log"]):
            code = call(request["target"], request["argv"])
    name = request.get("target", "preload")
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{request.get('log', 'preload.log')}.prof")
    print(f"{name}: {time.process_time() - started:.2f} s CPU, exit {code}", file=sys.stderr, flush=True)
    return code


def main() -> int:
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # between steps, stray output goes to the worker's own log, never into the answers
    for line in sys.stdin:
        request = json.loads(line)
        answers.write(json.dumps({"id": request["id"], "returncode": handle(request)}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
