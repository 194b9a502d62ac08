"""Ticket custom fields as typed columns (docs/halo-api.md 2.3 and 3).

The `custom_fields` setting names fields by name (`CFimpact`), label, id, or `all`. They are resolved
against `GET /api/FieldInfo` once per read (and for discover), and the ticket list is asked for them
with `include_custom_fields=<ids>`: Halo then adds a `customfields` array to each row, so they cost no
request of their own. Each field becomes a column `cf_<name>` (Halo's `CF` prefix dropped, snake
case: `CFcostCentre` -> `cf_cost_centre`), typed from its definition; Halo's raw `customfields`
array is kept too.

Halo's type codes (django-psa's `UDF_TYPE_MAP`, docs/halo-api.md 3): 0 text, 1 memo, 2 single
selection, 3 multiple selection, 4 date, 5 time, 6 checkbox, 10 rich text. A selection is emitted as
its display text (`display`), a date as ISO 8601 UTC, a checkbox as a boolean, anything else as text.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from source_haloitsm.errors import ConfigError
from source_haloitsm.records import normalize_datetime

TEXT, MEMO, SELECT, MULTI_SELECT, DATE, TIME, CHECKBOX, RICH_TEXT = 0, 1, 2, 3, 4, 5, 6, 10
DATETIME_SCHEMA = {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}


@dataclasses.dataclass(frozen=True)
class CustomField:
    id: int
    name: str
    label: str
    type: int
    column: str

    def json_schema(self) -> Dict[str, Any]:
        if self.type == DATE:
            return dict(DATETIME_SCHEMA)
        if self.type == CHECKBOX:
            return {"type": ["null", "boolean"]}
        return {"type": ["null", "string"]}

    def value_of(self, entry: Mapping[str, Any]) -> Any:
        """A ticket's value of this field, from its entry in Halo's `customfields` array."""
        value = entry.get("value")
        if self.type in (SELECT, MULTI_SELECT):
            display = entry.get("display")
            return display if display not in (None, "") else (None if value in (None, "", 0) else str(value))
        if value in (None, ""):
            return None
        if self.type == DATE:
            return normalize_datetime(value)
        if self.type == CHECKBOX:
            if isinstance(value, str):
                return value.strip().lower() in ("true", "1", "yes")
            return bool(value)
        return value if isinstance(value, str) else str(value)


def column_name(name: str) -> str:
    base = name[2:] if name[:2].upper() == "CF" and len(name) > 2 else name
    base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base)
    base = re.sub(r"[^A-Za-z0-9]+", "_", base).strip("_").lower()
    return f"cf_{base or 'field'}"


def definitions(rows: Iterable[Mapping[str, Any]]) -> List[CustomField]:
    """Ticket custom fields among `GET /api/FieldInfo`'s rows (those of type-id 1, tickets, when the rows
    say), each with a column name unique among them."""
    fields: List[CustomField] = []
    used: Dict[str, int] = {}
    for row in rows:
        if not isinstance(row, Mapping) or "id" not in row:
            continue
        if row.get("typeid") not in (None, 1):
            continue
        try:
            field_id = int(row["id"])
            kind = int(row.get("type") or 0)
        except (TypeError, ValueError):
            continue
        name = str(row.get("name") or f"CF{field_id}")
        column = column_name(name)
        if column in used:
            column = f"{column}_{field_id}"
        used[column] = field_id
        fields.append(CustomField(field_id, name, str(row.get("label") or name), kind, column))
    return fields


def resolve(wanted: Sequence[str], available: Sequence[CustomField]) -> Tuple[CustomField, ...]:
    """The fields the `custom_fields` setting names, in its order. Raises ConfigError for a name Halo
    does not know, listing the close matches."""
    if not wanted:
        return ()
    if tuple(wanted) == ("all",):
        return tuple(available)
    by_key: Dict[str, CustomField] = {}
    for field in available:
        for key in (str(field.id), field.name.lower(), field.label.lower(), field.column):
            by_key.setdefault(key, field)
    chosen: Dict[int, CustomField] = {}
    unknown = []
    for token in wanted:
        field = by_key.get(token.lower()) or by_key.get(token)
        if field is None:
            unknown.append(token)
        else:
            chosen.setdefault(field.id, field)
    if unknown:
        names = sorted({f.name for f in available} | {f.label for f in available})
        hints = []
        for token in unknown:
            close = difflib.get_close_matches(token, names, n=3, cutoff=0.5)
            hints.append(f"'{token}'" + (f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""))
        listing = ", ".join(f"{f.name} ({f.id}, {f.label})" for f in available) or "none"
        raise ConfigError(
            f"Invalid setting 'custom_fields': Halo has no ticket custom field {', '.join(hints)}. "
            f"Use names, labels or ids from Configuration > Custom Objects > Custom Fields. Ticket custom fields "
            f"Halo lists: {listing}."
        )
    return tuple(chosen.values())


class Flattener:
    """Adds a `cf_<name>` column per chosen field to a ticket row (null when the ticket has no value)."""

    def __init__(self, fields: Sequence[CustomField]):
        self.fields = tuple(fields)

    def __call__(self, row: Dict[str, Any]) -> Dict[str, Any]:
        entries = row.get("customfields")
        by_id: Dict[Any, Mapping[str, Any]] = {}
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, Mapping):
                    by_id[entry.get("id")] = entry
        for field in self.fields:
            entry = by_id.get(field.id)
            row[field.column] = field.value_of(entry) if entry is not None else None
        return row


def query_value(fields: Sequence[CustomField]) -> Optional[str]:
    return ",".join(str(f.id) for f in fields) if fields else None
