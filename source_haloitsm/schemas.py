"""JSON schemas of the ticket streams, built from Halo's field list.

The field list (`schemas/halo_ticket_fields.json`) comes from Halo's swagger `Faults_List` and the
default list-row fields of docs/halo-api.md 2.5 (regenerate with scripts/generate_ticket_fields.py).
Every property but `id` is nullable and extra properties are allowed, so custom or new fields are not dropped.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from source_haloitsm.config import TICKET_FIELDS
from source_haloitsm.deletions import DELETED_AT

# Set on the record of a ticket deleted in Halo (deletions.py); absent from live tickets.
DELETED_AT_SCHEMA = {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}

# Fields of the default list row whose type the swagger does not give, typed from observed rows.
_OBSERVED_TYPES = {
    "team_id": "integer",
    "lastnote_date": "date-time",
    "_open_search_score": "number",
    "table": "integer",
    "viewers": "array",
}

DATETIME_FIELDS: List[str] = sorted(
    name
    for name, f in TICKET_FIELDS.items()
    if f.get("format") == "date-time" or _OBSERVED_TYPES.get(name) == "date-time"
)
INTEGER_FIELDS: List[str] = sorted(
    name for name, f in TICKET_FIELDS.items() if f["type"] == "integer" or _OBSERVED_TYPES.get(name) == "integer"
)


def _property(name: str) -> Dict[str, Any]:
    field = TICKET_FIELDS[name]
    kind = _OBSERVED_TYPES.get(name) or field["type"]
    if name in DATETIME_FIELDS:
        return {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}
    if kind == "integer":
        return {"type": ["null", "integer"]}
    if kind == "number":
        return {"type": ["null", "number"]}
    if kind == "boolean":
        return {"type": ["null", "boolean"]}
    if kind == "string":
        return {"type": ["null", "string"]}
    if kind == "array":
        return {"type": ["null", "array"]}
    # Nested objects and fields whose type Halo does not document: any JSON value.
    return {}


def default_fields() -> List[str]:
    return sorted(name for name, f in TICKET_FIELDS.items() if f.get("default_list"))


def ticket_schema(fields: Optional[Sequence[str]] = None, custom_fields: Sequence[Any] = ()) -> Dict[str, Any]:
    """The schema of a ticket stream: `fields` (or the default list row), plus a typed `cf_<name>` column
    and Halo's raw `customfields` array when custom fields are asked for (custom_fields.py)."""
    names = list(fields) if fields else default_fields()
    if custom_fields and "customfields" not in names:
        names.append("customfields")
    properties = {name: _property(name) for name in names}
    properties["id"] = {"type": "integer"}  # the primary key is never null
    properties["customfields"] = {
        "type": ["null", "array"],
        "items": {"type": "object", "additionalProperties": True},
    } if "customfields" in properties else None
    properties = {k: v for k, v in properties.items() if v is not None}
    for field in custom_fields:
        properties[field.column] = field.json_schema()
    properties[DELETED_AT] = DELETED_AT_SCHEMA
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "required": ["id"],
        "properties": properties,
    }
