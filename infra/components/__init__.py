"""One ComponentResource per concern; the stack program (infra/program.py) only composes them."""
