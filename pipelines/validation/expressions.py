"""A small evaluator for Azure Pipelines template expressions (`${{ ... }}`), enough for static checks.

Supports literals ('text', numbers, true/false), property paths (`parameters.x`, `variables.x`, loop
variables such as `pair.key`) and the functions eq, ne, ge, gt, le, lt, and, or, not, replace, join, split,
coalesce, format and length. Anything else raises `Unresolvable`, and callers then treat the value as unknown.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w.]*)|(?P<op>[(),]))"
)
WHOLE = re.compile(r"^\$\{\{(.*)\}\}$", re.DOTALL)
EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def unresolved(value: Any) -> bool:
    """Whether `value` still holds a template, macro or runtime expression (its value is not known yet)."""
    return isinstance(value, str) and any(marker in value for marker in ("${{", "$(", "$["))


class Unresolvable(Exception):  # a signal, not an error: the value is unknown statically
    """Raised when an expression uses something this evaluator does not model."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def _compare(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(left: Any, right: Any) -> bool:
        try:
            return op(float(left), float(right))
        except (TypeError, ValueError):
            return op(_text(left).casefold(), _text(right).casefold())

    return compare


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "eq": _compare(lambda a, b: a == b),
    "ne": _compare(lambda a, b: a != b),
    "ge": _compare(lambda a, b: a >= b),
    "gt": _compare(lambda a, b: a > b),
    "le": _compare(lambda a, b: a <= b),
    "lt": _compare(lambda a, b: a < b),
    "and": lambda *args: all(args),
    "or": lambda *args: any(args),
    "not": lambda arg: not arg,
    "replace": lambda text, old, new: _text(text).replace(_text(old), _text(new)),
    "join": lambda sep, items: _text(sep).join(_text(i) for i in items),
    # Empty strings stay where separators meet or end the text, as Azure Pipelines' split(): '' gives [''].
    "split": lambda text, sep: _text(text).split(_text(sep)),
    "coalesce": lambda *args: next((a for a in args if a not in (None, "")), ""),
    # Length of a string or of an array (a sequence parameter), as Azure Pipelines' length().
    "length": lambda value: len(value if isinstance(value, (str, list, tuple)) else _text(value)),
    "format": lambda fmt, *args: re.sub(r"\{(\d+)\}", lambda m: _text(args[int(m.group(1))]), _text(fmt)),
}


class _Parser:
    def __init__(self, text: str, scope: Mapping[str, Any]) -> None:
        self.tokens = self._tokenise(text)
        self.pos = 0
        self.scope = scope

    @staticmethod
    def _tokenise(text: str) -> list[tuple[str, str]]:
        tokens, pos, text = [], 0, text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise Unresolvable(text)
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def parse(self) -> Any:
        value = self._expression()
        if self.pos != len(self.tokens):
            msg = "trailing tokens"
            raise Unresolvable(msg)
        return value

    def _next(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            msg = "unexpected end"
            raise Unresolvable(msg)
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _expression(self) -> Any:
        kind, text = self._next()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind != "name":
            raise Unresolvable(text)
        if self.pos < len(self.tokens) and self.tokens[self.pos] == ("op", "("):
            return self._call(text)
        if text.casefold() in ("true", "false"):
            return text.casefold() == "true"
        return self._lookup(text)

    def _call(self, name: str) -> Any:
        self.pos += 1
        args = []
        while self.tokens[self.pos] != ("op", ")"):
            args.append(self._expression())
            if self.tokens[self.pos] == ("op", ","):
                self.pos += 1
        self.pos += 1
        if name not in FUNCTIONS:
            raise Unresolvable(name)
        return FUNCTIONS[name](*args)

    def _lookup(self, path: str) -> Any:
        head, *rest = path.split(".")
        if head not in self.scope:
            raise Unresolvable(path)
        value = self.scope[head]
        for part in rest:
            if not isinstance(value, Mapping) or part not in value:
                raise Unresolvable(path)
            value = value[part]
        return value


def evaluate(expression: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate the inside of one `${{ }}`; raise `Unresolvable` if it cannot be known statically."""
    try:
        return _Parser(expression, scope).parse()
    except IndexError as err:
        raise Unresolvable(expression) from err


def substitute(value: str, scope: Mapping[str, Any]) -> Any:
    """Replace `${{ }}` in `value`: a whole-string expression keeps its type; unknown parts stay as is."""
    whole = WHOLE.match(value.strip())
    if whole and "${{" not in whole.group(1):
        try:
            return evaluate(whole.group(1), scope)
        except Unresolvable:
            return value

    def replace(match: re.Match[str]) -> str:
        try:
            return _text(evaluate(match.group(1), scope))
        except Unresolvable:
            return match.group(0)

    return EMBEDDED.sub(replace, value)
