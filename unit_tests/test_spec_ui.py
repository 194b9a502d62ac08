"""The spec uses only what the Airbyte UI's connector form renders.

The form (airbyte-webapp, "Set up a source") is built from `connectionSpecification`. It renders
objects, strings, integers, numbers, booleans, arrays of strings (a tag input) and arrays of
objects (a list of sub-forms), and `oneOf` only as a selector between object branches told apart by
a `const` property. It does not resolve `$ref` and ignores `anyOf`/`allOf`/`not`/`if`, so a spec
using them shows a broken or empty form. Every field needs a title and a description (the label and
its tooltip); `order` places fields, and two siblings with the same `order` land in an unstable
place; `group` refers to a section declared in `groups`; secrets must be `airbyte_secret` so the
form masks them and the platform stores them as secrets.

These tests read the packaged spec.json; they change nothing.
"""
from __future__ import annotations

import json
import pkgutil
import re
from typing import Any, Iterator, List, Mapping, Tuple

import jsonschema
import pytest

SPEC = json.loads(pkgutil.get_data("source_haloitsm", "spec.json"))
CONNECTION = SPEC["connectionSpecification"]

FORM_TYPES = {"string", "integer", "number", "boolean", "array", "object"}
# Keywords the form reads or that JSON-schema validation uses harmlessly.
KNOWN_KEYWORDS = {
    "type", "title", "description", "default", "examples", "order", "group", "airbyte_secret",
    "airbyte_hidden", "always_show", "pattern", "pattern_descriptor", "format", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "enum", "const",
    "items", "properties", "required", "additionalProperties", "oneOf", "multiline",
    "display_type", "uniqueItems", "minItems", "maxItems",
}
UNSUPPORTED_KEYWORDS = {
    "$ref", "definitions", "$defs", "anyOf", "allOf", "not", "if", "then", "else",
    "patternProperties", "dependencies", "dependentRequired", "dependentSchemas",
}
FORMATS = {"date", "date-time", "email", "uri"}
SECRET_NAME = re.compile(r"secret|password|passwd|token|api_?key|private_?key", re.IGNORECASE)


def fields(schema: Mapping[str, Any] = CONNECTION, path: str = "") -> Iterator[Tuple[str, Mapping[str, Any]]]:
    """Every property the form shows, with a dotted path (`ticket_types[].name` for list items)."""
    for name, prop in (schema.get("properties") or {}).items():
        here = f"{path}{name}"
        yield here, prop
        if prop.get("type") == "object":
            yield from fields(prop, here + ".")
        items = prop.get("items")
        if prop.get("type") == "array" and isinstance(items, Mapping) and items.get("type") == "object":
            yield from fields(items, here + "[].")
        for index, branch in enumerate(prop.get("oneOf") or []):
            yield from fields(branch, f"{here}<{index}>.")


def objects(schema: Mapping[str, Any] = CONNECTION, path: str = "<root>") -> Iterator[Tuple[str, Mapping[str, Any]]]:
    """Every object level whose properties are siblings in the form."""
    yield path, schema
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("type") == "object":
            yield from objects(prop, name)
        items = prop.get("items")
        if prop.get("type") == "array" and isinstance(items, Mapping) and items.get("type") == "object":
            yield from objects(items, f"{name}[]")
        for index, branch in enumerate(prop.get("oneOf") or []):
            yield from objects(branch, f"{name}<{index}>")


def all_keys(node: Any, path: str = "") -> Iterator[Tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield path, key
            if key not in ("examples", "default", "enum", "const"):
                yield from all_keys(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from all_keys(value, f"{path}/{index}")


FIELDS = list(fields())
FIELD_IDS = [path for path, _ in FIELDS]
FORM_FIELDS = [pytest.param(path, prop, id=path) for path, prop in FIELDS]


def test_top_level_is_a_form():
    assert SPEC.get("documentationUrl", "").startswith("https://")
    assert CONNECTION.get("type") == "object"
    assert CONNECTION.get("title")
    assert CONNECTION.get("properties")
    # Settings added by a newer version must not make older saved configs invalid (or vice versa).
    assert CONNECTION.get("additionalProperties", True) is True


def test_no_constructs_the_form_cannot_render():
    found = [(path or "/", key) for path, key in all_keys(CONNECTION) if key in UNSUPPORTED_KEYWORDS]
    assert found == [], f"keywords the form does not render: {found}"


@pytest.mark.parametrize("path, prop", FORM_FIELDS)
def test_field_has_label_tooltip_and_renderable_type(path, prop):
    problems: List[str] = []
    if not isinstance(prop.get("title"), str) or not prop["title"].strip():
        problems.append("no title (the form's label)")
    if not isinstance(prop.get("description"), str) or len(prop["description"].strip()) < 10:
        problems.append("no description (the form's tooltip)")
    kind = prop.get("type")
    if "oneOf" in prop:
        if kind != "object":
            problems.append("oneOf needs type: object")
    elif not isinstance(kind, str) or kind not in FORM_TYPES:
        problems.append(f"type {kind!r}: the form renders one of {sorted(FORM_TYPES)} (no type lists)")
    unknown = set(prop) - KNOWN_KEYWORDS
    if unknown:
        problems.append(f"keywords the form does not know: {sorted(unknown)}")
    if kind == "array":
        items = prop.get("items")
        if not isinstance(items, Mapping) or items.get("type") not in ("string", "integer", "number", "object"):
            problems.append("an array needs `items` with type string, integer, number or object")
        elif items.get("type") == "object" and not items.get("properties"):
            problems.append("an array of objects needs item properties")
    if "format" in prop and prop["format"] not in FORMATS:
        problems.append(f"format {prop['format']!r} is not one the form handles ({sorted(FORMATS)})")
    if "pattern" in prop:
        try:
            re.compile(prop["pattern"])
        except re.error as exc:
            problems.append(f"pattern does not compile: {exc}")
        if "pattern_descriptor" not in prop:
            problems.append("a pattern without pattern_descriptor shows users a bare regex")
    if "enum" in prop and not all(_of_type(value, kind) for value in prop["enum"]):
        problems.append("enum values do not match the type")
    assert problems == [], f"{path}: " + "; ".join(problems)


@pytest.mark.parametrize("path, prop", FIELDS, ids=FIELD_IDS)
def test_defaults_and_examples_validate(path, prop):
    schema = {k: v for k, v in prop.items() if k not in ("examples", "default")}
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    if "default" in prop:
        errors = [e.message for e in validator.iter_errors(prop["default"])]
        assert errors == [], f"{path}: default {prop['default']!r} is invalid: {errors}"
    examples = prop.get("examples")
    if examples is not None:
        assert isinstance(examples, list) and examples, f"{path}: examples must be a non-empty list"
        for example in examples:
            errors = [e.message for e in validator.iter_errors(example)]
            assert errors == [], f"{path}: example {example!r} is invalid: {errors}"


@pytest.mark.parametrize("path, prop", FIELDS, ids=FIELD_IDS)
def test_examples_where_the_format_is_not_obvious(path, prop):
    """A field with a pattern or format, or a free-text identifier with no default, shows an
    example placeholder, so users see the expected shape before they type."""
    needs = ("pattern" in prop or "format" in prop) and not prop.get("airbyte_secret")
    if needs:
        assert prop.get("examples"), f"{path}: has a pattern/format but no examples"


@pytest.mark.parametrize("path, prop", FIELDS, ids=FIELD_IDS)
def test_secrets_are_masked(path, prop):
    name = path.rsplit(".", 1)[-1].replace("[]", "")
    if SECRET_NAME.search(name):
        assert prop.get("airbyte_secret") is True, f"{path} looks like a secret: mark it airbyte_secret"
    if prop.get("airbyte_secret"):
        assert prop.get("type") == "string", f"{path}: only strings can be secrets"
        assert "default" not in prop and "examples" not in prop, f"{path}: a secret shows no default or example"


@pytest.mark.parametrize("path, schema", list(objects()), ids=[p for p, _ in objects()])
def test_order_is_unique_per_level_and_required_exist(path, schema):
    properties = schema.get("properties") or {}
    orders = [prop.get("order") for prop in properties.values()]
    assert all(isinstance(o, int) and not isinstance(o, bool) for o in orders), f"{path}: every field needs an integer order: {orders}"
    duplicates = sorted({o for o in orders if orders.count(o) > 1})
    assert duplicates == [], f"{path}: order used twice: {duplicates}"
    missing = [name for name in schema.get("required") or [] if name not in properties]
    assert missing == [], f"{path}: required but not a property: {missing}"
    for name in schema.get("required") or []:
        assert "default" not in properties[name], f"{path}.{name}: required fields take no default"


def test_one_of_branches_are_objects_told_apart_by_a_const():
    for path, prop in FIELDS:
        branches = prop.get("oneOf")
        if not branches:
            continue
        consts = []
        for branch in branches:
            assert branch.get("type") == "object" and branch.get("title"), f"{path}: each oneOf branch is a titled object"
            const_props = [n for n, p in (branch.get("properties") or {}).items() if "const" in p]
            assert const_props, f"{path}: branch {branch.get('title')} has no const discriminator"
            consts.append(const_props[0])
        assert len(set(consts)) == 1, f"{path}: the branches do not share one discriminator property: {consts}"


def test_groups_exist_and_are_used():
    declared = [group.get("id") for group in CONNECTION.get("groups") or []]
    assert all(declared) and len(declared) == len(set(declared)), f"group ids must be unique: {declared}"
    assert all(group.get("title") for group in CONNECTION.get("groups") or []), "every group needs a title"
    top = CONNECTION["properties"]
    used = {prop.get("group") for prop in top.values()}
    if declared:
        ungrouped = [name for name, prop in top.items() if "group" not in prop]
        assert ungrouped == [], f"with groups declared, every top-level field needs one: {ungrouped}"
        assert used <= set(declared), f"groups used but not declared: {sorted(used - set(declared))}"
        assert set(declared) <= used, f"groups declared but empty: {sorted(set(declared) - used)}"
    nested = [path for path, prop in FIELDS if "." in path or "[]" in path if "group" in prop]
    assert nested == [], f"only top-level fields can be grouped: {nested}"


def _of_type(value: Any, kind: Any) -> bool:
    return {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }.get(kind, True)
