"""Regenerates the JSON schemas of the reference streams (source_haloitsm/schemas/<stream>.json) from
the extracts of Halo's swagger in scripts/halo_swagger/ (their origin is in its README).

Typing, as for tickets (docs/halo-api.md 2.5, 2.6, 6): every property is nullable (but the primary
key) and extra properties are allowed; `date-time` properties are emitted as ISO 8601 UTC with an
offset; ids the swagger types as `number` (Halo sends some as `18.0`: Site `client_id`, Users
`site_id`) are declared and emitted as integers; `$ref` properties are objects (every schema the
list rows refer to is one).

Run: python scripts/generate_reference_schemas.py
"""
import csv
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
SWAGGER = ROOT / "scripts" / "halo_swagger"
OUT = ROOT / "source_haloitsm" / "schemas"

# stream -> (swagger schema of a list row, primary key (a name or a tuple), fields seen in rows that the schema lacks)
STREAMS = {
    "statuses": ("TStatus", "id", {}),
    "ticket_types": ("RequestType_List", "id", {"active": "boolean", "description": "string"}),
    "priorities": ("Policy", "priorityid", {}),
    "slas": ("SlaHead", "id", {"isdisabled": "boolean", "workdays_id": "integer"}),
    "teams": ("SectionDetail_List", "id", {}),
    "agents": ("Uname_List", "id", {}),
    "clients": ("Area", "id", {}),
    "sites": ("Site_List", "id", {"slastupdate": "date-time"}),
    "users": ("Users_List", "id", {"ulastupdate": "date-time", "datecreated": "date-time"}),
    "categories": ("CategoryDetail", "id", {}),
    "outcomes": ("TOutcome", "id", {}),
    "custom_field_definitions": ("FieldInfo", "id", {"typeid": "integer", "typeinfo": "string"}),
    # _ab_cdc_deleted_at: set on the actions of a ticket deleted in Halo (source_haloitsm/deletions.py)
    "actions": ("Actions", ("ticket_id", "id"), {"actioncompletiondate": "date-time", "actionarrivaldate": "date-time",
                                                 "who": "string", "_ab_cdc_deleted_at": "date-time"}),
}


def _property(name: str, kind: str, fmt: str) -> dict:
    if kind == "date-time" or (kind == "string" and fmt == "date-time"):
        return {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}
    if kind == "integer" or (kind == "number" and (name == "id" or name.endswith("_id"))):
        return {"type": ["null", "integer"]}
    if kind in ("number", "boolean", "string", "array", "object"):
        return {"type": ["null", kind]}
    if kind.startswith("#/components/schemas/"):
        return {"type": ["null", "object"]}  # every schema the list rows refer to is an object
    return {}  # the swagger's odd types: any JSON value


def schema(swagger_name: str, key: str, extra: dict) -> dict:
    properties = {}
    with (SWAGGER / f"swagger_schema_{swagger_name}.tsv").open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            properties[row["field"]] = _property(row["field"], row["type"], row["format"])
    for name, kind in extra.items():
        properties.setdefault(name, _property(name, kind, ""))
    keys = [key] if isinstance(key, str) else list(key)
    for name in keys:
        key_type = properties[name].get("type", ["null", "string"])
        properties[name] = {"type": [t for t in key_type if t != "null"][0]}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "required": keys,
        "properties": dict(sorted(properties.items())),
    }


def main() -> None:
    for stream, (swagger_name, key, extra) in STREAMS.items():
        path = OUT / f"{stream}.json"
        path.write_text(json.dumps(schema(swagger_name, key, extra), indent=1) + "\n")
        print(f"{stream}: {swagger_name} -> {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
