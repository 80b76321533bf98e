"""The vendoring tool reads ARM schemas the way the generated files write them (on a small schema of our own)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.policy.vendor_arm_schema_names import ANY, Schemas, name_tree

EXPRESSION = {
    "$ref": "https://schema.management.azure.com/schemas/common/definitions.json#/definitions/expression"
}

SCHEMA = {
    "resourceDefinitions": {
        "things": {
            "properties": {
                "type": {"enum": ["Contoso.Things/things"]},
                "apiVersion": {"enum": ["2030-01-01"]},
                "name": {"type": "string"},
                "properties": {"oneOf": [{"$ref": "#/definitions/ThingProperties"}, EXPRESSION]},
                "tags": {
                    "oneOf": [{"additionalProperties": {"type": "string"}, "properties": {}}, EXPRESSION]
                },
            }
        }
    },
    "definitions": {
        "ThingProperties": {
            "properties": {
                "criteria": {"oneOf": [{"$ref": "#/definitions/Criteria"}, EXPRESSION]},
                "rules": {"oneOf": [{"items": {"$ref": "#/definitions/Rule"}, "type": "array"}, EXPRESSION]},
                "byName": {"additionalProperties": {"$ref": "#/definitions/Rule"}, "type": "object"},
                "tree": {"$ref": "#/definitions/Node"},
                "plain": {"type": "string"},
            }
        },
        # A discriminated union left open by the generator: only the named keys count.
        "Criteria": {
            "additionalProperties": {"type": "object"},
            "oneOf": [
                {"properties": {"odata.type": {"enum": ["A"]}, "allOf": {"type": "string"}}},
                {"properties": {"odata.type": {"enum": ["B"]}, "componentId": {"type": "string"}}},
            ],
        },
        "Rule": {
            "properties": {"name": {"type": "string"}, "properties": {"$ref": "#/definitions/RuleProps"}}
        },
        "RuleProps": {"properties": {"port": {"type": "integer"}}},
        "Node": {
            "properties": {"label": {"type": "string"}, "children": {"items": {"$ref": "#/definitions/Node"}}}
        },
    },
}


def test_names_follow_refs_unions_arrays_and_maps(tmp_path: Path) -> None:
    folder = tmp_path / "schemas" / "2030-01-01"
    folder.mkdir(parents=True)
    (folder / "Contoso.Things.json").write_text(json.dumps(SCHEMA))
    schemas = Schemas(tmp_path)
    found = schemas.resource("Contoso.Things/things", "2030-01-01")
    assert found is not None and schemas.resource("Contoso.Things/other", "2030-01-01") is None
    definition, where = found
    assert where == "2030-01-01/Contoso.Things.json"
    tree = name_tree(definition["properties"]["properties"], where, schemas)
    rule = {"name": None, "properties": {"port": None}}
    assert tree == {
        "criteria": {"odata.type": None, "allOf": None, "componentId": None},
        "rules": rule,
        "byName": {"*": rule},
        "tree": {"label": None, "children": ANY},
        "plain": None,
    }
    assert name_tree(definition["properties"]["tags"], where, schemas) == {"*": None}
