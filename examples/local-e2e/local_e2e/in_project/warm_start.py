"""Start a project entry point warm: import it now, run it when told to.

    python warm_start.py -m <package>.serve --host 127.0.0.1 --port 5501

Imports the module, and the libraries its model loading needs (skops.io, when installed), at once; then
reads one line from stdin: `go` runs `<module>.main(args)`, exactly what `python -m <module> args` runs,
and anything else (end of input included) exits without running it. The demo starts the scoring server
this way while the candidate trains, so the server's imports (MLflow, scikit-learn, uvicorn: seconds of
CPU) overlap training instead of following registration; `go` comes once the champion is registered.
"""

from __future__ import annotations

import contextlib
import importlib
import sys

WARM_IMPORTS = ("skops.io",)
"""Imported when present: MLflow's scikit-learn loader imports it on the first model load."""


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "-m":
        print("usage: warm_start.py -m <module> [args...]", file=sys.stderr)
        return 2
    module = importlib.import_module(argv[1])
    for name in WARM_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if sys.stdin.readline().strip() != "go":
        return 0
    return int(module.main(argv[2:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
