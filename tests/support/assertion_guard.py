"""A pytest plugin that fails any test whose function body contains no assertion.

A test that runs the program but checks nothing would otherwise pass green. The guard reads each
collected test function's source: it must contain an `assert` statement (a `pytest.raises` block alone
does not count, so such tests also assert on the error's message). It reads the source rather than counting
passing assertions at run time, because pytest's assertion-pass hook makes pytest format
every operand of every passing assertion, which multiplies the run time of property-based tests.
Import the hook into a conftest.py to apply the guard to that folder.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest


def asserts_something(function: object) -> bool:
    """True when the function's own source contains an `assert` statement."""
    source = textwrap.dedent(inspect.getsource(function))  # type: ignore[arg-type]
    return any(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(source)))


def pytest_runtest_setup(item: pytest.Item) -> None:
    function = getattr(item, "function", None)
    if function is not None and not asserts_something(inspect.unwrap(function)):
        pytest.fail(f"{item.nodeid} asserts nothing: a test must check the behaviour it names", pytrace=False)
