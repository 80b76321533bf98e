"""What every step's command line shares: logging set-up and turning project errors into exit codes."""

import argparse
import logging
import sys
from collections.abc import Callable

from {{ cookiecutter.package_name }}.errors import ProjectError

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
