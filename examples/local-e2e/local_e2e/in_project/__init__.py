"""Helpers that run inside the generated project's environment (its src/ on PYTHONPATH), as scripts."""
