"""Serve the champion locally with MLflow's scoring app behind the project's request guard.

    python -m {{ cookiecutter.package_name }}.serve [--port 5001] [--model-uri models:/<name>@champion]

Then `curl -d @request.json -H 'Content-Type: application/json' localhost:5001/invocations`, with a
body from `python -m {{ cookiecutter.package_name }}.payload`. The app is MLflow's own
(`mlflow.pyfunc.scoring_server.init`, what `mlflow models serve` runs): same routes, formats and
answers; request_guard only refuses, with 400/413, the bodies MLflow would answer with 500.
"""

from __future__ import annotations

import mlflow.pyfunc
import uvicorn
from mlflow.pyfunc import scoring_server

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.request_guard import RequestGuard
from {{ cookiecutter.package_name }}.score_batch import CHAMPION_URI


def build_app(model_uri: str) -> RequestGuard:
    """Load the model once (a `models:/…@alias` resolves now) and wrap MLflow's scoring app."""
    return RequestGuard(scoring_server.init(mlflow.pyfunc.load_model(model_uri)))


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--model-uri", default=CHAMPION_URI)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)

    def step() -> int:
        # uvicorn handles SIGINT/SIGTERM itself and returns after a graceful shutdown.
        uvicorn.run(build_app(args.model_uri), host=args.host, port=args.port, log_level="info")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
