"""Refuse to tear down any stack that is not an ephemeral one.

Two independent rules, both must pass: the stack name matches the ephemeral pattern (default `pr-<number>`),
and none of its words is a protected environment name. The built-in protected words cannot be removed from
the command line, only added to, so no pipeline parameter can aim `pulumi destroy` at prod.

    python -m pipelines.scripts.teardown_guard --stack pr-123 [--protected qa,uat] [--allowed-pattern REGEX]
"""

import argparse
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence

from pipelines.scripts import cli, exit_codes
from pipelines.scripts.errors import InvalidArgumentError, ProtectedStackError

logger = logging.getLogger(__name__)

# Long-lived environments and their usual abbreviations.
BUILTIN_PROTECTED = frozenset({"prod", "production", "prd", "live", "staging", "stage", "stg", "dev", "main"})
DEFAULT_ALLOWED_PATTERN = r"pr-[0-9]+"
# Pulumi's stack name alphabet; a fully qualified name is `org/project/stack`.
_STACK_RE = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+){0,2}$")
_WORD_SPLIT_RE = re.compile(r"[^a-z0-9]+")


def _words(stack: str) -> set[str]:
    # NFKC + casefold: fullwidth or upper-case letters spelling PROD still mean prod.
    normalised = unicodedata.normalize("NFKC", stack).casefold()
    return {word for word in _WORD_SPLIT_RE.split(normalised) if word}


def check_stack(
    stack: str, *, extra_protected: Iterable[str] = (), allowed_pattern: str = DEFAULT_ALLOWED_PATTERN
) -> str:
    """Return the stack's short name if it may be destroyed; raise `ProtectedStackError` otherwise."""
    if not _STACK_RE.fullmatch(stack):
        msg = f"--stack {stack!r} is not a Pulumi stack name ([org/[project/]]name of letters, digits, '-_.')"
        raise ProtectedStackError(msg)
    short = stack.rsplit("/", 1)[-1]
    protected = BUILTIN_PROTECTED | {word.casefold() for word in extra_protected if word}
    hits = sorted(_words(short) & protected)
    if hits:
        msg = f"--stack {stack!r} names protected environment(s) {hits}; protected words: {sorted(protected)}"
        raise ProtectedStackError(msg)
    if not re.fullmatch(allowed_pattern, short):
        msg = f"--stack {stack!r} does not match the ephemeral stack pattern {allowed_pattern!r}"
        raise ProtectedStackError(msg)
    return short


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help="stack to destroy, e.g. pr-123")
    parser.add_argument("--protected", default="", help="comma-separated extra protected words")
    parser.add_argument(
        "--allowed-pattern", default=DEFAULT_ALLOWED_PATTERN, help="regex for ephemeral stacks"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        re.compile(args.allowed_pattern)
    except re.error as err:
        msg = f"--allowed-pattern {args.allowed_pattern!r} is not a valid regular expression: {err}"
        raise InvalidArgumentError(msg) from err
    extra = [word.strip() for word in args.protected.split(",")]
    short = check_stack(args.stack, extra_protected=extra, allowed_pattern=args.allowed_pattern)
    logger.info("Stack %s is ephemeral: teardown allowed", short)
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
