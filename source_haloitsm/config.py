"""The connector's configuration: migration of old shapes, validation with messages a person can act on.

Every problem is reported as `ConfigError` naming the setting, what was wrong and what to do. The
same validation runs for check (FAILED status), discover and read (a TRACE with `config_error`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import ipaddress
import json
import pkgutil
from typing import Any, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import jsonschema

from source_haloitsm import datetimes
from source_haloitsm.datetimes import parse_date
from source_haloitsm.errors import ConfigError
from source_haloitsm.redaction import DEFAULT_PHONE_REGIONS, KEPT_FIELDS, RedactionSettings, drop_column

SPEC = json.loads(pkgutil.get_data("source_haloitsm", "spec.json"))
CONNECTION_SPEC = SPEC["connectionSpecification"]
PROPERTIES = CONNECTION_SPEC["properties"]
SECRET_SETTINGS = {name for name, prop in PROPERTIES.items() if prop.get("airbyte_secret")}

TICKET_FIELDS: Mapping[str, Mapping[str, Any]] = json.loads(
    pkgutil.get_data("source_haloitsm", "schemas/halo_ticket_fields.json")
)
ACTION_FIELDS = frozenset(json.loads(pkgutil.get_data("source_haloitsm", "schemas/actions.json"))["properties"])
# Always emitted, whatever `fields` says: the primary key and the cursor.
REQUIRED_FIELDS = ("id", "last_update")
DEFAULT_STREAM_NAME = "tickets"


@dataclasses.dataclass(frozen=True)
class TicketTypeStream:
    name: str
    type_id: Optional[int]  # None until a type given by name is resolved (check.resolve_ticket_types)
    fields: Optional[Tuple[str, ...]]  # None: every field
    type_name: Optional[str] = None  # the Halo ticket type's name, when the entry names it

    def describe(self) -> str:
        return f"'{self.type_name}'" if self.type_id is None else f"type_id {self.type_id}"


@dataclasses.dataclass(frozen=True)
class HaloConfig:
    base_url: str
    tenant: str
    client_id: str
    client_secret: str = dataclasses.field(repr=False)
    scope: str
    start_date: Optional[dt.datetime]
    end_date: Optional[dt.datetime]  # inclusive day, as midnight UTC
    ticket_types: Tuple[TicketTypeStream, ...]
    custom_fields: Tuple[str, ...]  # names or ids of ticket custom fields, or ("all",)
    actions_include_system: bool
    actions_include_private: bool
    actions_html: bool
    actions_history: str  # "by_time" or "by_ticket"
    actions_incremental: str  # "by_changed_ticket" or "by_time"
    page_size: int
    rate_limit: int
    request_timeout: int
    parallel_requests: int
    max_retries: int
    redaction: RedactionSettings = RedactionSettings()  # what to drop and mask (redaction.py)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/auth/token"

    @property
    def end_exclusive(self) -> Optional[dt.datetime]:
        return self.end_date + dt.timedelta(days=1) if self.end_date else None

    def describe_instance(self) -> str:
        tenant = f"tenant '{self.tenant}'" if self.tenant else "no tenant (self-hosted)"
        return f"{self.base_url} with {tenant}"


def migrate(config: Mapping[str, Any]) -> dict:
    """Accepts the older shape of `ticket_types`, a map `{name: {type_id, fields}}`, and returns the
    list shape `[{name, type_id, fields}]` that the spec declares for the Airbyte UI form.

    The migration happens in memory on every run; nothing is written back, because a migrated
    config sent to the platform would carry the client secret on stdout.
    """
    migrated = dict(config)
    ticket_types = migrated.get("ticket_types")
    if isinstance(ticket_types, Mapping):
        entries = []
        for name, entry in ticket_types.items():
            if isinstance(entry, Mapping):
                entries.append({"name": name, **dict(entry)})
            else:
                entries.append({"name": name, "type_id": entry})
        migrated["ticket_types"] = entries
    for key in ("start_date", "end_date", "tenant"):
        if migrated.get(key) is None and key in migrated:
            del migrated[key]
    custom = migrated.get("custom_fields")
    if isinstance(custom, str):  # "all", "none" or one name, as a user may well write it
        migrated["custom_fields"] = [] if custom.strip().lower() in ("", "none") else [custom]
    elif custom is None and "custom_fields" in migrated:
        migrated["custom_fields"] = []
    return migrated


def _setting_name(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    if not path:
        if error.validator == "required":
            return error.message.split("'")[1]
        return "config"
    name = str(path[0])
    for part in path[1:]:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


def _hint(setting: str) -> str:
    top = setting.split("[")[0].split(".")[0]
    prop = PROPERTIES.get(top)
    if not prop:
        return ""
    if setting != top and top == "redaction":
        sub = setting.split(".", 1)[1].split("[")[0] if "." in setting else ""
        prop = prop.get("properties", {}).get(sub, prop)
    elif setting != top and top == "ticket_types":
        return " Each ticket_types entry needs a 'name' (letters, digits, underscores) and a 'type' (the Halo ticket type's name or id); 'fields' is an optional list of Halo field names."
    return f" {prop.get('title', top)}: {prop.get('description', '')}"


def _schema_error_message(error: jsonschema.ValidationError) -> str:
    setting = _setting_name(error)
    if error.validator == "required":
        return f"Missing required setting '{setting}'.{_hint(setting)}"
    top = setting.split("[")[0].split(".")[0]
    if top in SECRET_SETTINGS:
        # Never echo a secret value, even a wrongly typed one.
        what = {"type": "must be a string", "minLength": "must not be empty"}.get(error.validator, "is invalid")
        return f"Invalid setting '{setting}': it {what}.{_hint(setting)}"
    return f"Invalid setting '{setting}': {error.message}.{_hint(setting)}"


def _check_base_url(raw: str) -> str:
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"Invalid setting 'base_url': '{text}' is not a web address with a scheme. "
            "Use the address of your Halo instance, for example https://acme.haloitsm.com."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"Invalid setting 'base_url': '{text}' has a path ('{parts.path}'). Use only the scheme "
            f"and host, for example {parts.scheme}://{parts.netloc}; the connector adds /api and "
            "/auth/token itself."
        )
    host = parts.hostname or ""
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"Invalid setting 'base_url': '{text}' uses http. Halo credentials and ticket data must "
            f"travel over https: use https://{parts.netloc}. (http is accepted only for loopback "
            "hosts such as 127.0.0.1, for tests.)"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_day(config: Mapping[str, Any], key: str) -> Optional[dt.datetime]:
    value = config.get(key)
    if value in (None, ""):
        return None
    try:
        return parse_date(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Invalid setting '{key}': '{value}' is not a date in the form YYYY-MM-DD (for example 2024-01-31)."
        ) from None


def _check_fields(entry_name: str, fields: Any) -> Optional[Tuple[str, ...]]:
    if not fields:
        return None
    unknown = [f for f in fields if f not in TICKET_FIELDS]
    if unknown:
        suggestions = []
        for name in unknown:
            close = difflib.get_close_matches(name, TICKET_FIELDS.keys(), n=1)
            suggestions.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise ConfigError(
            f"Invalid setting 'ticket_types' entry '{entry_name}': unknown ticket field(s) "
            f"{', '.join(suggestions)}. Use field names as Halo's GET /api/Tickets returns them, "
            "such as summary, status_id, dateoccurred, agent_id; see the connector docs for the list."
        )
    ordered = list(REQUIRED_FIELDS) + [f for f in fields if f not in REQUIRED_FIELDS]
    return tuple(dict.fromkeys(ordered))


TICKET_TYPE_KEYS = ("name", "type", "type_id", "fields")


def _ticket_type_entry(position: int, entry: Mapping[str, Any], seen: set) -> TicketTypeStream:
    name = entry["name"]
    where = f"Invalid setting 'ticket_types' entry '{name}'"
    unknown = [k for k in entry if k not in TICKET_TYPE_KEYS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)}. Each entry takes 'name', 'type' (the "
            "Halo ticket type's name or id), and optionally 'fields'; older configurations use 'type_id'."
        )
    if name in seen:
        raise ConfigError(f"Invalid setting 'ticket_types': the stream name '{name}' is used twice. Give each entry its own name.")
    seen.add(name)
    given = [k for k in ("type", "type_id") if entry.get(k) not in (None, "")]
    if len(given) != 1:
        raise ConfigError(
            f"{where}: give the Halo ticket type once, as 'type' (its name, e.g. Incident, or its id)"
            + (" - not both 'type' and 'type_id'." if len(given) == 2 else ".")
        )
    value = str(entry[given[0]]).strip()
    type_id: Optional[int] = int(value) if value.isdigit() else None
    if type_id is not None and type_id < 1:
        raise ConfigError(f"{where}: {value} is not a ticket type id (ids start at 1).")
    return TicketTypeStream(
        name=name, type_id=type_id, fields=_check_fields(name, entry.get("fields")), type_name=None if type_id else value
    )


def _check_custom_fields(values: Any) -> Tuple[str, ...]:
    tokens = tuple(str(v).strip() for v in values if str(v).strip())
    if any(t.lower() == "all" for t in tokens):
        if len(tokens) > 1:
            raise ConfigError(
                "Invalid setting 'custom_fields': 'all' already takes every ticket custom field; leave it alone in the "
                "list, or list the fields you want instead."
            )
        return ("all",)
    return tuple(dict.fromkeys(tokens))


REDACTION_KEYS = ("drop_fields", "detectors", "phone_regions")


def _check_redaction(value: Any) -> RedactionSettings:
    """The `redaction` object (its shape is checked against the spec first)."""
    if not value:
        return RedactionSettings()
    unknown = [k for k in value if k not in REDACTION_KEYS]
    if unknown:
        raise ConfigError(
            f"Invalid setting 'redaction': unknown key(s) {', '.join(repr(k) for k in unknown)}. It takes 'drop_fields' "
            "(fields to leave out, by name), 'detectors' (what to mask in free text: email, phone, payment_card, iban, "
            "ip_address) and 'phone_regions' (two-letter country codes)."
        )
    drop = tuple(dict.fromkeys(str(name).strip() for name in value.get("drop_fields") or [] if str(name).strip()))
    kept = {name for names in KEPT_FIELDS.values() for name in names}
    for name in drop:
        if name in kept:
            raise ConfigError(
                f"Invalid setting 'redaction.drop_fields': '{name}' cannot be dropped: it is a primary key or cursor of the "
                "tickets or actions streams (id, last_update, ticket_id, datetime), which syncs need. Remove it from the list."
            )
        if drop_column(name).startswith("cf_") or name in TICKET_FIELDS or name in ACTION_FIELDS:
            continue
        close = difflib.get_close_matches(name, sorted(set(TICKET_FIELDS) | ACTION_FIELDS), n=1)
        raise ConfigError(
            f"Invalid setting 'redaction.drop_fields': no ticket or action field is called '{name}'"
            + (f" (did you mean '{close[0]}'?)" if close else "")
            + ". Use field names as Halo sends them, such as user_email, reportedby, emailfrom, or a custom field's "
            "column (cf_callback_number) or Halo name (CFcallbackNumber)."
        )
    detectors = tuple(dict.fromkeys(value.get("detectors") or []))
    regions = value.get("phone_regions")
    if regions is None:
        regions = DEFAULT_PHONE_REGIONS
    regions = tuple(dict.fromkeys(str(r).strip().upper() for r in regions if str(r).strip()))
    if regions:
        import phonenumbers

        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ConfigError(
                f"Invalid setting 'redaction.phone_regions': {', '.join(repr(r) for r in unknown)} "
                f"{'is not a country code' if len(unknown) == 1 else 'are not country codes'} the phone detector knows. "
                "Use two-letter ISO 3166 codes, such as GB, US, DE, FR, ES, NL, AU."
            )
    return RedactionSettings(drop_fields=drop, detectors=detectors, phone_regions=regions)


def parse_config(raw: Mapping[str, Any], now: Optional[dt.datetime] = None) -> HaloConfig:
    """Validates a (possibly old-shaped) config and returns it typed. Raises ConfigError."""
    config = migrate(raw)
    validator = jsonschema.Draft7Validator(CONNECTION_SPEC)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    # The base_url pattern is checked below with a more specific message.
    errors = [e for e in errors if not (list(e.absolute_path) == ["base_url"] and e.validator == "pattern")]
    if errors:
        raise ConfigError(_schema_error_message(errors[0]))

    base_url = _check_base_url(config["base_url"])
    for key in ("client_id", "client_secret"):
        if not str(config[key]).strip():
            raise ConfigError(f"Missing required setting '{key}': it is empty.{_hint(key)}")

    start_date = _parse_day(config, "start_date")
    end_date = _parse_day(config, "end_date")
    now = now or datetimes.utc_now()
    if start_date and start_date > now:
        raise ConfigError(
            f"Invalid setting 'start_date': {config['start_date']} is in the future. Use a past date, or leave it empty to read all history."
        )
    if start_date and end_date and end_date < start_date:
        raise ConfigError(
            f"Invalid setting 'end_date': {config['end_date']} is before start_date {config['start_date']}. "
            "end_date is inclusive and must be on or after start_date."
        )

    streams = []
    seen = set()
    for position, entry in enumerate(config.get("ticket_types") or []):
        streams.append(_ticket_type_entry(position, entry, seen))

    custom_fields = _check_custom_fields(config.get("custom_fields") or [])

    return HaloConfig(
        base_url=base_url,
        tenant=(config.get("tenant") or "").strip(),
        client_id=str(config["client_id"]).strip(),
        client_secret=str(config["client_secret"]),
        scope=(config.get("scope") or "all").strip() or "all",
        start_date=start_date,
        end_date=end_date,
        ticket_types=tuple(streams),
        custom_fields=custom_fields,
        actions_include_system=bool(config.get("actions_include_system", True)),
        actions_include_private=bool(config.get("actions_include_private", True)),
        actions_html=bool(config.get("actions_html", False)),
        actions_history=str(config.get("actions_history") or "by_time"),
        actions_incremental=str(config.get("actions_incremental") or "by_changed_ticket"),
        page_size=int(config.get("page_size", PROPERTIES["page_size"]["default"])),
        rate_limit=int(config.get("rate_limit", PROPERTIES["rate_limit"]["default"])),
        request_timeout=int(config.get("request_timeout", PROPERTIES["request_timeout"]["default"])),
        parallel_requests=int(config.get("parallel_requests", PROPERTIES["parallel_requests"]["default"])),
        max_retries=int(config.get("max_retries", PROPERTIES["max_retries"]["default"])),
        redaction=_check_redaction(config.get("redaction")),
    )
