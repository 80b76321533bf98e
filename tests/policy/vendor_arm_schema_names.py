"""Regenerate fixtures/arm_schema_names.json from a checkout of Azure/azure-resource-manager-schemas.

    python -m tests.policy.vendor_arm_schema_names <path to the repository's copy, e.g. ../shared/reference/arm-schemas>

For every ARM type the ARM model maps (infra/plan/arm_types.py), at the API version azure-native calls, it
records the resource-level keys and the tree of property names under `properties`: each name maps to the tree
of its object (`{...}`; `{"*": ...}` for a map whose keys are free, such as tags, with the tree of its values),
to "*" below a recursive definition, or to null for a value without named keys. Arrays are transparent (a list's items share one tree), unions contribute the
names of every variant. Only names are vendored, never the schemas; the tests read this file, not the schemas.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from infra.plan.arm_types import ARM_RESOURCE_TYPES

FIXTURE = Path(__file__).with_name("fixtures") / "arm_schema_names.json"
SNAPSHOT = "a1454431151fd3e9c1b254b1a11d00c2d8474611"
ANY = "*"
_DEFINITION_GROUPS = (
    "resourceDefinitions",
    "subscription_resourceDefinitions",
    "extension_resourceDefinitions",
    "unknown_resourceDefinitions",
)


class Schemas:
    """The schema files of one checkout, with `$ref` resolution across files."""

    def __init__(self, root: Path) -> None:
        self.root = root / "schemas"

    @cache  # noqa: B019 (one instance per run)
    def document(self, relative: str) -> dict[str, Any]:
        return json.loads((self.root / relative).read_text())

    def resolve(self, ref: str, base: str) -> tuple[dict[str, Any], str] | None:
        """The schema a `$ref` names and the file it lives in; None for ARM's template-expression type."""
        target, _, pointer = ref.partition("#")
        if target.startswith("https://schema.management.azure.com/schemas/"):
            target = target.removeprefix("https://schema.management.azure.com/schemas/")
        elif target:
            target = str((Path(base).parent / target).as_posix())
        else:
            target = base
        if target == "common/definitions.json":
            return None
        node: Any = self.document(target)
        for part in pointer.strip("/").split("/"):
            node = node[part]
        return node, target

    def resource(self, arm_type: str, api_version: str) -> tuple[dict[str, Any], str] | None:
        """The resource definition of `arm_type` at `api_version`, and its file; None when the checkout lacks it."""
        folder = self.root / api_version
        if not folder.is_dir():
            return None
        for path in sorted(folder.glob("*.json")):
            relative = f"{api_version}/{path.name}"
            document = self.document(relative)
            for group in _DEFINITION_GROUPS:
                for definition in document.get(group, {}).values():
                    if arm_type in definition.get("properties", {}).get("type", {}).get("enum", []):
                        return definition, relative
        return None


def _variants(node: dict[str, Any], base: str, schemas: Schemas) -> list[tuple[dict[str, Any], str]]:
    """The node itself and every schema it references or unions with, flattened."""
    if "$ref" in node:
        resolved = schemas.resolve(node["$ref"], base)
        return _variants(*resolved, schemas) if resolved else []
    found = [(node, base)]
    for key in ("oneOf", "anyOf", "allOf"):
        for child in node.get(key, []):
            found += _variants(child, base, schemas)
    return found


def name_tree(node: dict[str, Any], base: str, schemas: Schemas, seen: frozenset[int] = frozenset()) -> Any:
    """The names under `node`: a dict of name -> subtree ({"*": subtree} for a map with free keys), ANY below a
    recursive definition, None for a value without named keys.

    A schema that names its keys and also allows additional ones (the generator's way of leaving discriminated
    unions open) keeps only the named keys: what ARM documents is what the model may write.
    """
    names: dict[str, Any] = {}
    extra: Any = None
    has_extra = False
    for variant, where in _variants(node, base, schemas):
        if id(variant) in seen:
            return ANY
        inner = seen | {id(variant)}
        if variant.get("type") == "array" or "items" in variant:
            subtree = name_tree(variant.get("items", {}), where, schemas, inner)
            if subtree == ANY:
                return ANY
            if subtree:
                names = _merge(names, subtree)
            continue
        additional = variant.get("additionalProperties")
        if isinstance(additional, dict):
            has_extra = True
            extra = _merge(extra, name_tree(additional, where, schemas, inner))
        elif additional is True:
            has_extra = True
        for key, child in variant.get("properties", {}).items():
            names[key] = _merge(names.get(key), name_tree(child, where, schemas, inner))
    if names:
        return names
    if has_extra:
        return {"*": extra}
    return None


def _merge(left: Any, right: Any) -> Any:
    if left is None:
        return right
    if right is None:
        return left
    if ANY in (left, right) or not isinstance(left, dict) or not isinstance(right, dict):
        return ANY
    merged = dict(left)
    for key, value in right.items():
        merged[key] = _merge(merged.get(key), value)
    return merged


def vendor(root: Path) -> dict[str, Any]:
    schemas = Schemas(root)
    types: dict[str, Any] = {}
    for mapping in sorted(ARM_RESOURCE_TYPES.values(), key=lambda m: m.arm_type):
        found = schemas.resource(mapping.arm_type, mapping.api_version)
        if found is None:
            continue
        definition, where = found
        top = definition["properties"]
        properties = name_tree(top["properties"], where, schemas) if "properties" in top else None
        types[mapping.arm_type] = {
            "apiVersion": mapping.api_version,
            "properties": properties if isinstance(properties, dict) else {},
            "topLevel": sorted(top),
        }
    return {
        "source": (
            f"Azure/azure-resource-manager-schemas snapshot {SNAPSHOT} (MIT): resource-level keys and the tree of "
            "property names under each type's `properties` (unions merged, arrays transparent; a '*' key for "
            "maps with free keys, '*' below recursive definitions, null for values without named keys), at the API version azure-native 3.29 calls. "
            "Regenerate with `python -m tests.policy.vendor_arm_schema_names <arm-schemas checkout>`."
        ),
        "types": types,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    FIXTURE.write_text(json.dumps(vendor(Path(argv[0])), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
