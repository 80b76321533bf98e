"""Read a `Pulumi.<stack>.yaml` strictly: what the file says is what the stack gets, or a clear refusal.

PyYAML alone lets four mistakes through: a second copy of a key silently wins (a prod file can turn into
dev), `null` becomes the string "None" on its way to `pulumi.Config`, a key outside the project's namespace
(`azure-mlop:owner`) is dropped, and a file that is a list or not YAML at all ends in a traceback. Both the
offline plan and the program `pulumi up` runs read stack files through `read_stack_file`, so each refuses
what the other refuses, naming the file, the line and the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from infra.errors import InvalidStackConfig

# The top-level keys Pulumi's stack settings file takes.
# https://www.pulumi.com/docs/iac/concepts/projects/stack-settings-file/
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")
# Namespaces other than the project's that a stack file may configure: the providers this program uses and
# Pulumi's own (`pulumi:tags`).
PROVIDER_NAMESPACES = ("azure-native", "databricks", "pulumi")
_NULL_TAG = "tag:yaml.org,2002:null"


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _mappings(node: Node) -> Iterator[MappingNode]:
    """Every mapping in the tree under `node`, `node` included."""
    if isinstance(node, MappingNode):
        yield node
        for key, value in node.value:
            yield from _mappings(key)
            yield from _mappings(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _mappings(item)


def _duplicate_key_problems(where: str, root: Node) -> list[str]:
    problems = []
    for mapping in _mappings(root):
        first_line: dict[str, int] = {}
        for key, _ in mapping.value:
            name = key.value if isinstance(key, ScalarNode) else repr(key.value)
            if name in first_line:
                problems.append(
                    f"{where} line {_line(key)}: key {name!r} appears again (first on line "
                    f"{first_line[name]}): YAML keeps only the last value; keep one"
                )
            else:
                first_line[name] = _line(key)
    return problems


def _config_key_problems(where: str, config: MappingNode, project: str) -> list[str]:
    problems = []
    for key, value in config.value:
        line = _line(key)
        if not isinstance(key, ScalarNode) or not isinstance(key.value, str):
            problems.append(f"{where} line {line}: a config key must be a string '<namespace>:<key>'")
            continue
        namespace, sep, name = key.value.partition(":")
        if not sep or not namespace or not name:
            problems.append(
                f"{where} line {line}: config key {key.value!r} has no namespace: write it as "
                f"'{project}:{key.value}' (keys outside a namespace never reach the program)"
            )
        elif namespace != project and namespace not in PROVIDER_NAMESPACES:
            problems.append(
                f"{where} line {line}: config key {key.value!r} is in namespace {namespace!r}, which is "
                f"neither this project's ({project!r}) nor a provider's {list(PROVIDER_NAMESPACES)}: "
                "check its spelling"
            )
        if isinstance(value, ScalarNode) and value.tag == _NULL_TAG:
            problems.append(
                f"{where} line {line}: config key {key.value!r} is null: give it a value, or remove the "
                "line to take the project's default"
            )
    return problems


def read_stack_file(path: Path, project: str) -> dict[str, Any]:
    """The `config:` block of the stack file at `path` ("<namespace>:<key>" -> value), read strictly.

    Raises InvalidStackConfig naming the file, the line and the key of every problem found: invalid YAML,
    a top level or a `config:` that is not a mapping, unknown top-level keys, duplicate keys at any depth,
    config keys outside the project's or a provider's namespace, and null values.
    """
    where = path.name
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError as err:
        msg = f"{where}: is not UTF-8 text (byte {err.start}): save it as UTF-8"
        raise InvalidStackConfig(msg) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        msg = f"{where}{at}: is not valid YAML: {problem}"
        raise InvalidStackConfig(msg) from err
    if root is None:
        return {}
    if not isinstance(root, MappingNode):
        msg = f"{where} line {_line(root)}: the file must be a mapping with a 'config:' key, not a {root.id}"
        raise InvalidStackConfig(msg)
    problems = _duplicate_key_problems(where, root)
    config: Node | None = None
    for key, value in root.value:
        if key.value not in STACK_FILE_KEYS:
            problems.append(
                f"{where} line {_line(key)}: top-level key {key.value!r} is not one Pulumi reads: "
                f"{list(STACK_FILE_KEYS)}"
            )
        elif key.value == "config":
            config = value
    if config is not None and not (isinstance(config, ScalarNode) and config.tag == _NULL_TAG):
        if isinstance(config, MappingNode):
            problems.extend(_config_key_problems(where, config, project))
        else:
            problems.append(
                f"{where} line {_line(config)}: 'config' must be a mapping of '<namespace>:<key>: value', "
                f"not a {config.id}"
            )
    if problems:
        raise InvalidStackConfig("\n".join(problems))
    document = yaml.SafeLoader("").construct_document(root)
    return dict(document.get("config") or {})
