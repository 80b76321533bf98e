"""Validation and pruning behind the mlflow-project template's hooks.

The hook scripts only render the answers into JSON and call these functions, so every rule is
unit-tested in tests/templates/ without running cookiecutter. Standard library only: hooks run
with whichever Python runs cookiecutter.
"""
