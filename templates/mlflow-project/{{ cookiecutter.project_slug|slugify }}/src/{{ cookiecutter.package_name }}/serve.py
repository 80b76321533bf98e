"""Serve the champion locally with MLflow's scoring server (the same server CI smoke-tests).

    python -m {{ cookiecutter.package_name }}.serve [--port 5001] [--model-uri models:/<name>@champion]

Then `curl -d @request.json -H 'Content-Type: application/json' localhost:5001/invocations`, with a
body from `python -m {{ cookiecutter.package_name }}.payload`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.score_batch import CHAMPION_URI


def serve_command(model_uri: str, host: str, port: int) -> list[str]:
    # --env-manager local: serve from this environment, which has the model's pinned packages.
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
            "--env-manager", "local", "--host", host, "--port", str(port)]  # fmt: skip


def serve_environment() -> dict[str, str]:
    """`mlflow models serve` starts `uvicorn` by name: put this interpreter's bin folder on PATH first."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


def main(argv: list[str] | None = None) -> NoReturn:
    parser = cli.parser(__doc__)
    parser.add_argument("--model-uri", default=CHAMPION_URI)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    command = serve_command(args.model_uri, args.host, args.port)
    os.execve(command[0], command, serve_environment())  # replaces this process: signals reach the server


if __name__ == "__main__":
    main()
