"""What every step's command line shares: logging set-up and turning project errors into exit codes."""

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from {{ cookiecutter.package_name }}.errors import ProjectError


def _report_project_errors(kind: type[BaseException], error: BaseException, trace: object) -> None:
    """A ProjectError raised while a step imports (e.g. no data contract yet) reads like one raised in `run`."""
    if isinstance(error, ProjectError):
        print(f"ERROR: {error}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, trace)  # type: ignore[arg-type]


sys.excepthook = _report_project_errors

EXIT_OK = 0
EXIT_FAILED = 1
"""A step ran and said no (a rejected gate, invalid data): pipelines must stop here."""


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose --help shows the module docstring (usage examples included) as written."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def run(step: Callable[[], int]) -> int:
    """Run `step`, report a ProjectError on stderr as one clear message and return an exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return step()
    except ProjectError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return EXIT_FAILED


def publish_outputs(outputs: Mapping[str, str], environ: Mapping[str, str] | None = None) -> None:
    """Hand values to later pipeline jobs: Azure Pipelines output variables (`TF_BUILD` is set on its agents)
    or GitHub Actions step outputs (`GITHUB_OUTPUT` names the file). Always printed, for people reading logs."""
    env = os.environ if environ is None else environ
    for name, value in outputs.items():
        print(f"{name}={value}")
        if env.get("TF_BUILD"):
            # Names and values here are model names, versions and URIs: no ';' or ']' to escape.
            print(f"##vso[task.setvariable variable={name};isOutput=true]{value}")
    if env.get("GITHUB_OUTPUT"):
        with Path(env["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as stream:
            stream.writelines(f"{name}={value}\n" for name, value in outputs.items())
