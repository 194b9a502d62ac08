"""Load every HaloITSM stream into DuckDB with PyAirbyte, join tickets to their statuses, teams and agents, read again incrementally.

Runs under the PyAirbyte environment (scripts/pyairbyte-venv.sh makes it), from the repository root:

    scripts/pyairbyte-venv.sh
    PYTHONPATH=. .venv-pyairbyte/bin/python examples/pyairbyte_example.py               # built-in simulator
    PYTHONPATH=. .venv-pyairbyte/bin/python examples/pyairbyte_example.py --by-type     # one stream per ticket type
    PYTHONPATH=. .venv-pyairbyte/bin/python examples/pyairbyte_example.py --image       # the container image
    .venv-pyairbyte/bin/python examples/pyairbyte_example.py --config secrets/config.json   # a real Halo

Without --config it starts the Halo simulator of this repository in this process (it needs the
repository on PYTHONPATH) and:

1. selects every stream (the tickets, or one stream per ticket type with --by-type, and the 12
   reference lists) with `custom_fields: ["all"]`, reads them all into a DuckDB cache and compares
   each stream with what the simulator holds: rows, distinct primary keys, and the keys themselves
   (ids; (slaid, priorityid) for priorities, whose `id` is a GUID);
2. runs examples/service_desk_analysis.sql on the cache: mean time to close by team and the open
   backlog by status (tickets joined to statuses, teams and agents on their ids), and counts the
   tickets whose status, team or agent id has no row in its list (each should be 0);
3. updates and creates tickets and updates users in the simulator, reads again (incremental for the
   tickets, users, clients and sites, from the state PyAirbyte keeps in the cache), checks that the
   changed rows came, and compares every stream again.

It exits 1 when a comparison or a check fails. With --config it reads your Halo, prints the counts
and runs the analysis (and, with --incremental, a second, incremental read).

The connector is run by its console script (.venv/bin/source-haloitsm, from `make venv`), or with
--image by the image source-haloitsm:dev (`make image`) through the container engine of
scripts/container-engine.sh.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

# Before `import airbyte`: no connector registry look-up (get_source would fail offline), no telemetry.
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
# PyAirbyte imports Google's cloud clients, which warn about the Python version on import.
warnings.filterwarnings("ignore", message="You are using a Python version", category=FutureWarning)

import airbyte as ab  # noqa: E402
import airbyte.types  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXECUTABLE = ROOT / ".venv" / "bin" / "source-haloitsm"
DEFAULT_IMAGE = "source-haloitsm:dev"
ANALYSIS_SQL = Path(__file__).resolve().parent / "service_desk_analysis.sql"
# The columns of a ticket stream the analysis uses (a --by-type stream with `fields` must have them).
ANALYSIS_COLUMNS = ("id", "last_update", "status_id", "team_id", "agent_id", "dateoccurred", "dateclosed")
ANALYSIS_TABLES = ("tickets", "statuses", "teams", "agents")
# Set on the record of a ticket deleted in Halo (and of its actions): source_haloitsm/deletions.py.
DELETED_AT = "_ab_cdc_deleted_at"
# The simulator's ticket types (integration_tests/halo_simulator/data.py) as --by-type streams; the
# ones limited to some fields keep those the analysis joins and measures on.
TYPE_STREAMS = [
    {"name": "incidents", "type_id": 1,
     "fields": ["summary", "status_id", "team_id", "agent_id", "dateoccurred", "dateclosed"]},
    {"name": "service_requests", "type_id": 2,
     "fields": ["summary", "priority_id", "status_id", "team_id", "agent_id", "dateoccurred", "dateclosed"]},
    {"name": "problems", "type_id": 3},
    {"name": "changes", "type_id": 4},
]
# Streams that are neither tickets nor reference lists.
OTHER_STREAMS = ("actions",)
# Reference stream -> the simulator's truth list of it (sim.truth(name)).
REFERENCE_TRUTH = {
    "statuses": "statuses", "ticket_types": "ticket_types", "priorities": "priorities", "slas": "slas",
    "teams": "teams", "agents": "agents", "clients": "clients", "sites": "sites", "users": "users",
    "categories": "categories", "outcomes": "outcomes", "custom_field_definitions": "custom_fields",
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="a connector config (JSON) for a real Halo; default: start the simulator")
    parser.add_argument("--incremental", action="store_true", help="with --config: also run a second, incremental read")
    parser.add_argument("--tickets", type=int, default=1500, help="tickets in the simulator (default 1500)")
    parser.add_argument("--by-type", action="store_true", help="one stream per ticket type instead of the single 'tickets' stream")
    parser.add_argument("--update", type=int, default=25, help="tickets the simulator updates before the incremental read")
    parser.add_argument("--create", type=int, default=5, help="tickets the simulator creates before the incremental read")
    parser.add_argument("--update-users", type=int, default=5, help="users the simulator updates before the incremental read")
    parser.add_argument("--delete", type=int, default=20, help="tickets the simulator deletes before the incremental read")
    parser.add_argument("--executable", type=Path, default=DEFAULT_EXECUTABLE, help="the connector's console script")
    parser.add_argument("--image", nargs="?", const=DEFAULT_IMAGE, help=f"run the connector image instead (default {DEFAULT_IMAGE})")
    parser.add_argument("--cache-dir", type=Path, help="where the DuckDB cache lives (default: PyAirbyte's, ./.cache/default_cache)")
    parser.add_argument("--summary", type=Path, help="write the counts, comparisons and query results to this JSON file")
    return parser.parse_args(argv)


def start_simulator(tickets: int):
    try:
        from integration_tests.halo_simulator import HaloSimulator
    except ImportError as exc:
        sys.exit(f"Cannot import the Halo simulator ({exc}). Run from the repository root with PYTHONPATH=. or pass --config.")
    return HaloSimulator(tickets=tickets, seed=42, client_id="demo-client", client_secret="demo-secret", tenant="demo").start()


def simulator_config(base_url: str, by_type: bool) -> Dict[str, Any]:
    config: Dict[str, Any] = {
        "base_url": base_url,
        "tenant": "demo",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        # Every ticket custom field as a typed cf_<name> column of the ticket streams.
        "custom_fields": ["all"],
        # A local simulator has no rate limit; Halo-hosted allows about 300 requests per 5 minutes.
        "rate_limit": 6000,
    }
    if by_type:
        config["ticket_types"] = TYPE_STREAMS
    return config


def use_container_engine() -> None:
    """Puts the docker shim of scripts/container-engine.sh first on PATH (podman without a daemon)."""
    script = ROOT / "scripts" / "container-engine.sh"
    proc = subprocess.run(
        ["bash", "-c", 'out="$("$0" env)" || exit $?; eval "$out"; env -0', str(script)],
        capture_output=True,
    )
    if proc.returncode != 0:
        sys.exit(f"No container engine: {script} env failed ({proc.stderr.decode(errors='replace').strip()[-500:]})")
    for item in proc.stdout.decode().split("\0"):
        if "=" in item:
            key, value = item.split("=", 1)
            os.environ[key] = value


def get_source(config: Dict[str, Any], args: argparse.Namespace) -> ab.Source:
    if args.image:
        use_container_engine()
        # Host network: the container reaches a simulator (or proxy) listening on this machine's loopback.
        return ab.get_source("source-haloitsm", config=config, docker_image=args.image, use_host_network=True)
    if not args.executable.exists():
        sys.exit(f"{args.executable} does not exist: run `make venv` first, or pass --executable.")
    return ab.get_source("source-haloitsm", config=config, local_executable=str(args.executable))


# PyAirbyte prints "Could not determine airbyte type from JSON schema: {}" each time it maps a
# property whose schema is {} (any value; the column becomes VARCHAR): thousands of lines per read.
# They are counted here instead, and the properties named once (untyped_properties).
UNTYPED_NOTICES: Counter = Counter()


def _print_unless_untyped_notice(*args: Any, **kwargs: Any) -> None:
    if args and str(args[0]).startswith("Could not determine airbyte type from JSON schema"):
        UNTYPED_NOTICES[str(args[0])] += 1
        return
    print(*args, **kwargs)


airbyte.types.print = _print_unless_untyped_notice  # the module's print() calls resolve to it


def untyped_properties(source: ab.Source) -> Dict[str, List[str]]:
    """Per stream, the top-level properties the connector declares without a type (schema {})."""
    found = {}
    for stream in source.discovered_catalog.streams:
        props = (stream.json_schema or {}).get("properties") or {}
        names = [n for n, d in props.items() if not any(k in (d or {}) for k in ("type", "anyOf", "oneOf", "$ref"))]
        if names:
            found[stream.name] = names
    return found


# ---- the cache ---------------------------------------------------------------------------------

class Cache:
    """SQL on PyAirbyte's DuckDB cache, on one connection (the analysis makes temporary views).

    PyAirbyte names a stream's table `<table_prefix><stream>` (normalized) in the cache's schema
    (main.tickets with the default cache); `table()` gives its name qualified by the database too,
    as the temporary views named after the streams live in a `temp.main` schema of their own."""

    def __init__(self, cache: ab.DuckDBCache):
        self.cache = cache
        self._connection_cm = None
        self.connection = None
        self.database = ""

    def __enter__(self) -> "Cache":
        self._connection_cm = self.cache.processor.get_sql_connection()
        self.connection = self._connection_cm.__enter__()
        self.database = self.query("SELECT current_database() AS db")[0]["db"]
        return self

    def __exit__(self, *exc) -> None:
        # PyAirbyte's connections are pooled: a temporary view named after a stream would outlive
        # this block and shadow the stream's table in the next read's MERGE INTO main."teams".
        try:
            for row in self.query("SELECT view_name FROM duckdb_views() WHERE temporary"):
                self.query(f"DROP VIEW IF EXISTS temp.main.{quote(row['view_name'])}")
        finally:
            self._connection_cm.__exit__(*exc)

    def table(self, stream: str) -> str:
        name = self.cache.processor.get_sql_table_name(stream)
        return f"{quote(self.database)}.{quote(self.cache.schema_name)}.{quote(name)}"

    def query(self, sql: str, params: Sequence[Any] = ()) -> List[Dict[str, Any]]:
        # exec_driver_sql: the SQL goes to DuckDB as written (no SQLAlchemy ":name" parameters).
        result = self.connection.exec_driver_sql(sql, tuple(params)) if params else self.connection.exec_driver_sql(sql)
        if not result.returns_rows:
            return []
        columns = list(result.keys())
        return [dict(zip(columns, row)) for row in result.fetchall()]

    def columns(self, stream: str) -> Dict[str, str]:
        name = self.cache.processor.get_sql_table_name(stream)
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            (self.cache.schema_name, name),
        )
        return {r["column_name"]: r["data_type"] for r in rows}


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def primary_keys(source: ab.Source) -> Dict[str, List[str]]:
    """Each stream's primary key columns, from the connector's catalog (priorities: slaid, priorityid)."""
    keys = {}
    for stream in source.discovered_catalog.streams:
        keys[stream.name] = [path[0] for path in (stream.source_defined_primary_key or [])] or ["id"]
    return keys


def live_rows(db: Cache, stream: str, ticket_streams: Sequence[str] = ()) -> str:
    """SQL for a stream's rows with the deduplicating destinations' rule applied. PyAirbyte's merge
    keeps one row per primary key, the latest record's, but does not apply the rule itself: a record
    of a deletion replaces the row and sets `_ab_cdc_deleted_at` (airbyte/shared/sql_processor.py,
    PyAirbyte 0.71). Rows so marked are Halo's deleted tickets (and their actions): left out here.
    Actions of a ticket marked deleted are left out too: where Halo does not list a deleted ticket's
    actions, the connector cannot report them deleted (docs/haloitsm.md)."""
    where = [f"{DELETED_AT} IS NULL"] if DELETED_AT in db.columns(stream) else []
    if stream == "actions" and ticket_streams:
        deleted = " UNION ".join(f"SELECT id FROM {db.table(s)} WHERE {DELETED_AT} IS NOT NULL"
                                 for s in ticket_streams if DELETED_AT in db.columns(s))
        if deleted:
            where.append(f"ticket_id NOT IN ({deleted})")
    return f"SELECT * FROM {db.table(stream)}" + (f" WHERE {' AND '.join(where)}" if where else "")


def marked_deleted(db: Cache, stream: str, key: List[str]) -> Set[Any]:
    if DELETED_AT not in db.columns(stream):
        return set()
    cols = ", ".join(quote(k) for k in key)
    rows = db.query(f"SELECT {cols} FROM {db.table(stream)} WHERE {DELETED_AT} IS NOT NULL")
    return {tuple(_key_value(r[k]) for k in key) if len(key) > 1 else _key_value(r[key[0]]) for r in rows}


def cached_keys(db: Cache, stream: str, key: List[str], ticket_streams: Sequence[str] = ()) -> Tuple[int, Set[Tuple[Any, ...]]]:
    """(rows, the set of primary keys) of a stream's live rows (live_rows)."""
    cols = ", ".join(quote(k) for k in key)
    rows = db.query(f"SELECT {cols} FROM ({live_rows(db, stream, ticket_streams)})")
    return len(rows), {tuple(_key_value(r[k]) for k in key) for r in rows}


def _key_value(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# ---- the simulator's truth ---------------------------------------------------------------------

def truth_keys(sim, stream: str, type_of: Dict[str, int], tickets_truth: Dict[int, Dict[str, Any]]) -> Set[Tuple[Any, ...]]:
    if stream == "actions":  # {(ticket_id, id): row}
        return {(int(ticket_id), int(action_id)) for ticket_id, action_id in sim.truth("actions")}
    if stream in REFERENCE_TRUTH:
        rows = sim.truth(REFERENCE_TRUTH[stream])
        if stream == "priorities":  # {priorityid: {slaid: row}}
            return {(int(slaid), int(priorityid)) for priorityid, per_sla in rows.items() for slaid in per_sla}
        return {(int(i),) for i in rows}
    want_type = type_of.get(stream)
    return {(int(i),) for i, row in tickets_truth.items() if want_type is None or row["tickettype_id"] == want_type}


def compare(db: Cache, streams: List[str], keys: Dict[str, List[str]], sim, type_of: Dict[str, int]) -> Dict[str, Dict[str, Any]]:
    tickets_truth = sim.truth()
    ticket_streams = [s for s in streams if s not in REFERENCE_TRUTH and s not in OTHER_STREAMS]
    report = {}
    for stream in streams:
        rows, have = cached_keys(db, stream, keys[stream], ticket_streams)
        want = truth_keys(sim, stream, type_of, tickets_truth)
        report[stream] = {
            "key": keys[stream],
            "rows": rows,
            "cached": len(have),
            "truth": len(want),
            "missing": [list(k) if len(k) > 1 else k[0] for k in sorted(want - have)[:20]],
            "unexpected": [list(k) if len(k) > 1 else k[0] for k in sorted(have - want)[:20]],
        }
    return report


def counts_only(db: Cache, streams: List[str], keys: Dict[str, List[str]]) -> Dict[str, Dict[str, Any]]:
    report = {}
    for stream in streams:
        rows, have = cached_keys(db, stream, keys[stream])
        report[stream] = {"key": keys[stream], "rows": rows, "cached": len(have)}
    return report


def report_ok(report: Dict[str, Dict[str, Any]]) -> bool:
    return all(r["rows"] == r["cached"] == r["truth"] and not r["missing"] and not r["unexpected"] for r in report.values())


# ---- the analysis ------------------------------------------------------------------------------

def sql_blocks(path: Path = ANALYSIS_SQL) -> Dict[str, List[str]]:
    """The "-- name: x" blocks of the SQL file, each a list of statements (comments dropped)."""
    blocks: Dict[str, List[str]] = {}
    name = None
    lines: List[str] = []
    for line in path.read_text().splitlines() + ["-- name: <end>"]:
        match = re.match(r"--\s*name:\s*(\S+)", line.strip())
        if match:
            if name is not None:
                text = "\n".join(lines)
                blocks[name] = [s.strip() for s in re.split(r";\s*(?:\n|$)", text) if s.strip()]
            name, lines = match.group(1), []
        elif name is not None and not line.strip().startswith("--"):
            lines.append(line)
    blocks.pop("<end>", None)
    return blocks


def prepare_views(db: Cache, ticket_streams: List[str]) -> List[str]:
    """Temporary views named after the streams the SQL file reads, over PyAirbyte's tables.
    With several ticket streams (--by-type), `tickets` is their union by column name. Returns the
    ticket streams left out because they lack a column the analysis needs."""
    for stream in ANALYSIS_TABLES[1:]:
        db.query(f"CREATE OR REPLACE TEMP VIEW {stream} AS SELECT * FROM {db.table(stream)}")
    usable, skipped = [], []
    for stream in ticket_streams:
        (usable if set(ANALYSIS_COLUMNS) <= set(db.columns(stream)) else skipped).append(stream)
    if not usable:
        raise SystemExit(f"no ticket stream has every column the analysis needs ({', '.join(ANALYSIS_COLUMNS)})")
    union = "\nUNION ALL BY NAME\n".join(live_rows(db, s) for s in usable)
    db.query(f"CREATE OR REPLACE TEMP VIEW tickets AS {union}")
    return skipped


def run_analysis(db: Cache, ticket_streams: List[str]) -> Dict[str, Any]:
    have = {r["table_name"] for r in db.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", (db.cache.schema_name,))}
    missing = [s for s in ANALYSIS_TABLES[1:] if db.cache.processor.get_sql_table_name(s) not in have]
    if missing or not ticket_streams:
        # e.g. a connector (or image) from before the reference streams
        raise SystemExit(f"The analysis needs the streams tickets, statuses, teams and agents; "
                         f"not in the cache: {', '.join(missing or ['tickets'])}.")
    skipped = prepare_views(db, ticket_streams)
    results: Dict[str, Any] = {"skipped_streams": skipped}
    for name, statements in sql_blocks().items():
        rows: List[Dict[str, Any]] = []
        for statement in statements:
            rows = db.query(statement)
        if name != "setup":
            results[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return results


def _plain(value: Any) -> Any:
    """Decimal and numpy-ish values as plain JSON numbers."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return int(number) if number.is_integer() and not isinstance(value, float) else number


def unresolved(analysis: Dict[str, Any]) -> Dict[str, int]:
    row = (analysis.get("unresolved_ids") or [{}])[0]
    return {column: int(row.get(column) or 0) for column in ("tickets", "status_id", "team_id", "agent_id")}


# ---- printing ----------------------------------------------------------------------------------

def format_table(rows: List[Dict[str, Any]], headers: Optional[Dict[str, str]] = None, indent: str = "  ") -> str:
    if not rows:
        return indent + "(no rows)"
    columns = list(rows[0])
    headers = {c: (headers or {}).get(c, c) for c in columns}
    cells = [[("" if row[c] is None else f"{row[c]:,}" if isinstance(row[c], int) and not isinstance(row[c], bool)
               else f"{row[c]:,.1f}" if isinstance(row[c], float) else str(row[c])) for c in columns] for row in rows]
    numeric = [all(isinstance(row[c], (int, float)) and not isinstance(row[c], bool) or row[c] is None for row in rows)
               for c in columns]
    widths = [max(len(headers[c]), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]

    def fmt(values: List[str]) -> str:
        return indent + "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([fmt([headers[c] for c in columns]), fmt(["-" * w for w in widths])] + [fmt(line) for line in cells])


def print_counts(title: str, report: Dict[str, Dict[str, Any]]) -> None:
    print(f"\n{title}")
    rows = []
    for stream, r in report.items():
        row = {"stream": stream, "key": ", ".join(r["key"]), "rows": r["rows"], "distinct keys": r["cached"]}
        if "truth" in r:
            ok = r["rows"] == r["cached"] == r["truth"] and not r["missing"] and not r["unexpected"]
            row["in Halo"] = r["truth"]
            row["result"] = "equal" if ok else (
                f"DIFFERENT: missing {r['missing']}, unexpected {r['unexpected']}" if r["missing"] or r["unexpected"]
                else "DUPLICATES" if r["rows"] != r["cached"] else "DIFFERENT")
        rows.append(row)
    print(format_table(rows))


def print_analysis(analysis: Dict[str, Any]) -> None:
    if analysis["skipped_streams"]:
        print(f"\n(left out of the analysis, lacking one of {', '.join(ANALYSIS_COLUMNS)}: {', '.join(analysis['skipped_streams'])})")
    print("\nMean time to close by team (closed tickets: dateclosed set; hours from dateoccurred to dateclosed)")
    print(format_table(analysis["mean_time_to_close_by_team"], {
        "closed_tickets": "closed", "mean_hours_to_close": "mean hours", "median_hours_to_close": "median hours",
        "mean_days_to_close": "mean days"}))
    print("\nOpen backlog by status (open tickets: dateclosed null)")
    print(format_table(analysis["open_backlog_by_status"], {
        "status_type": "type", "open_tickets": "open", "with_disabled_agent": "held by a disabled agent",
        "oldest_days": "oldest (days)"}))
    print_unresolved(unresolved(analysis))


def print_unresolved(counts: Dict[str, int]) -> None:
    print(f"\nTickets whose id has no row in its list (of {counts['tickets']:,}): "
          f"status_id -> statuses {counts['status_id']}, team_id -> teams {counts['team_id']}, "
          f"agent_id -> agents {counts['agent_id']}")


def analysis_ok(analysis: Dict[str, Any]) -> bool:
    counts = unresolved(analysis)
    return (bool(analysis["mean_time_to_close_by_team"]) and bool(analysis["open_backlog_by_status"])
            and counts["tickets"] > 0 and counts["status_id"] == counts["team_id"] == counts["agent_id"] == 0)


# ---- the run -----------------------------------------------------------------------------------

def extracted_since(db: Cache, stream: str, key: List[str], since: dt.datetime) -> Set[Any]:
    """Keys of the rows of a stream written by a read that started at `since` (UTC)."""
    cols = ", ".join(quote(k) for k in key)
    naive = since.astimezone(dt.timezone.utc).replace(tzinfo=None)
    rows = db.query(f"SELECT {cols} FROM {db.table(stream)} WHERE _airbyte_extracted_at >= ?", (naive,))
    return {tuple(_key_value(r[k]) for k in key) if len(key) > 1 else _key_value(r[key[0]]) for r in rows}


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.cache_dir:
        cache = ab.DuckDBCache(db_path=args.cache_dir / "default_cache.duckdb", cache_dir=args.cache_dir)
    else:
        cache = ab.get_default_cache()

    sim = None
    if args.config:
        config = json.loads(args.config.read_text())
    else:
        sim = start_simulator(args.tickets)
        config = simulator_config(sim.base_url, args.by_type)
        print(f"Halo simulator with {args.tickets} tickets at {sim.base_url}")
    summary: Dict[str, Any] = {"mode": "image" if args.image else "executable"}
    try:
        source = get_source(config, args)
        source.check()
        source.select_all_streams()
        streams = list(source.get_selected_streams())
        keys = primary_keys(source)
        ticket_streams = [s for s in streams if s not in REFERENCE_TRUTH and s not in OTHER_STREAMS]
        summary["streams"] = streams
        summary["ticket_streams"] = ticket_streams
        print(f"Connector: {args.image or args.executable}; custom_fields: {config.get('custom_fields') or 'none'}; "
              f"cache: {cache.db_path}")
        print(f"{len(streams)} streams: {', '.join(streams)}")

        # 1. Everything, as a full refresh that replaces the tables: the cache may hold rows and state
        #    from an earlier run (of another simulator), which would otherwise stay or make this read
        #    incremental.
        started = time.monotonic()
        result = source.read(cache=cache, force_full_refresh=True, write_strategy="replace")
        summary["full_refresh_seconds"] = round(time.monotonic() - started, 1)
        summary["full_refresh_records"] = result.processed_records
        entries = config.get("ticket_types") if isinstance(config.get("ticket_types"), list) else []
        type_of = {e["name"]: e["type_id"] for e in entries if isinstance(e, dict) and "type_id" in e}  # for the truth
        title = f"Full refresh: {result.processed_records:,} records in {summary['full_refresh_seconds']} s"
        with Cache(cache) as db:
            report = compare(db, streams, keys, sim, type_of) if sim else counts_only(db, streams, keys)
            summary["full_refresh"] = report
            print_counts(title, report)
            cf_columns = {c: t for s in ticket_streams for c, t in db.columns(s).items() if c.startswith("cf_")}
            summary["custom_field_columns"] = cf_columns
            print(f"\nCustom field columns of the tickets ({len(cf_columns)}):\n  "
                  + ", ".join(f"{c} {t}" for c, t in cf_columns.items()))
            untyped = untyped_properties(source)
            summary["untyped_properties"] = untyped
            if untyped:
                print(f"Properties the connector declares without a type (schema {{}}), VARCHAR columns "
                      f"(PyAirbyte's {sum(UNTYPED_NOTICES.values()):,} notices about them not shown):")
                for stream, names in untyped.items():
                    print(f"  {stream}: {', '.join(names)}")
            analysis = run_analysis(db, ticket_streams)
        summary["analysis"] = analysis
        summary["unresolved"] = unresolved(analysis)
        print_analysis(analysis)

        if sim is None:
            ok = analysis_ok(analysis)
            if args.incremental:
                result = source.read(cache=cache)
                print(f"\nIncremental read: {result.processed_records:,} records")
                with Cache(cache) as db:
                    print_counts("After the incremental read", counts_only(db, streams, keys))
            summary["ok"] = ok
            return 0 if ok else 1

        # 2. Change some tickets and users in Halo, then read from the state kept in the cache.
        sim.mutate(update=args.update, create=args.create)
        changed = sim.mutations[-1]  # {"updated": [ids], "created": [ids], "deleted": []}
        sim.mutate(users=args.update_users)
        changed_users = {int(i) for i in sim.mutations[-1].get("users", [])}
        sim.mutate(delete=args.delete)
        deleted_ids = {int(i) for i in sim.mutations[-1]["deleted"]}
        changed_ids = {int(i) for i in changed["updated"] + changed["created"]} - deleted_ids
        print(f"\nIn the simulator: updated {len(changed['updated'])} and created {len(changed['created'])} tickets, "
              f"updated {len(changed_users)} users, deleted {len(deleted_ids)} tickets.")
        # The connector reads up to the current second (exclusive of the part of a second still
        # running); a change made in the same second is read by the next sync. Wait it out here.
        time.sleep(1.1)
        before = dt.datetime.now(dt.timezone.utc)
        started = time.monotonic()
        result = source.read(cache=cache)
        summary["incremental_seconds"] = round(time.monotonic() - started, 1)
        summary["incremental_records"] = result.processed_records
        truth = sim.truth()
        users_truth = sim.truth("users")
        with Cache(cache) as db:
            came: Set[int] = set()
            per_stream = {}
            for stream in streams:
                fresh = extracted_since(db, stream, keys[stream], before)
                per_stream[stream] = len(fresh)
                if stream in ticket_streams:
                    came |= {int(i) for i in fresh}
            users_came = {int(i) for i in extracted_since(db, "users", keys["users"], before)} if "users" in streams else set()
            # The merge replaced the changed users' rows: their `inactive` flag (flipped on some) is Halo's.
            inactive = {int(r["id"]): r["inactive"] for r in db.query(f"SELECT id, inactive FROM {db.table('users')}")}
            users_differ = sorted(i for i in changed_users if inactive.get(i) != users_truth[i].get("inactive"))
            report = compare(db, streams, keys, sim, type_of)
            analysis_after = run_analysis(db, ticket_streams)
            marked = set().union(*(marked_deleted(db, s, keys[s]) for s in ticket_streams))
            live = set().union(*({k[0] for k in cached_keys(db, s, keys[s])[1]} for s in ticket_streams))
        changed_by_stream = Counter(
            stream for i in changed_ids for stream in ticket_streams
            if type_of.get(stream) is None or truth[i]["tickettype_id"] == type_of[stream]
        )
        changed_by_stream["users"] = len(changed_users)
        # With --by-type, a changed ticket of a type no stream reads (the simulator's retired type 5)
        # is not expected to come.
        unread = sorted(i for i in changed_ids if not any(
            type_of.get(s) is None or truth[i]["tickettype_id"] == type_of[s] for s in ticket_streams))
        print(f"Incremental read: {result.processed_records:,} records in {summary['incremental_seconds']} s")
        print(format_table([
            {"stream": s, "rows that came": per_stream[s],
             "changed in Halo": changed_by_stream.get(s, 0) if s in ticket_streams or s == "users" else None,
             "read": "incremental" if s in ticket_streams or s in ("actions", "users", "clients", "sites") else "whole list"}
            for s in streams]))
        missed = sorted(changed_ids - came - set(unread))
        users_missed = sorted(changed_users - users_came)
        summary.update({
            "changed": sorted(changed_ids), "changed_missed": missed, "changed_of_unread_types": unread,
            "changed_users": sorted(changed_users), "changed_users_missed": users_missed,
            "changed_users_differ": users_differ, "incremental_per_stream": per_stream,
        })
        if unread:
            print(f"  {len(unread)} changed tickets are of a type no stream reads: {unread}")
        print("  every changed ticket came" if not missed else f"  CHANGED TICKETS THAT DID NOT COME: {missed}")
        print("  every changed user came, with Halo's inactive flag" if not users_missed and not users_differ
              else f"  CHANGED USERS THAT DID NOT COME: {users_missed}; DIFFERENT inactive flag: {users_differ}")
        deleted_left = sorted(deleted_ids & live)
        everything = sim.truth(include_deleted=True)
        of_unread_types = {i for i in deleted_ids if not any(
            type_of.get(s) is None or everything[i]["tickettype_id"] == type_of[s] for s in ticket_streams)}
        deleted_unmarked = sorted(deleted_ids - marked - of_unread_types)
        print(f"  deleted in Halo: {len(deleted_ids)} tickets; rows marked {DELETED_AT} in the cache: {len(marked)} "
              f"(PyAirbyte keeps them, marked); live rows (latest per id, marked ones dropped): {len(live):,}, "
              + ("none of them deleted" if not deleted_left else f"DELETED TICKETS STILL LIVE: {deleted_left}")
              + ("" if not deleted_unmarked else f"; DELETED TICKETS NOT MARKED: {deleted_unmarked}"))
        summary.update({"deleted": sorted(deleted_ids), "marked_deleted": len(marked), "deleted_left": deleted_left,
                        "deleted_unmarked": deleted_unmarked})

        summary["after_incremental"] = report
        summary["analysis_after_incremental"] = analysis_after
        summary["unresolved_after_incremental"] = unresolved(analysis_after)
        print_counts("After the incremental read", report)
        print_unresolved(unresolved(analysis_after))
        ok = (not missed and not users_missed and not users_differ and not deleted_left and not deleted_unmarked
              and report_ok(summary["full_refresh"]) and report_ok(report)
              and analysis_ok(analysis) and analysis_ok(analysis_after))
        summary["ok"] = ok
        print("\nOK: every stream in the cache equals the simulator, and every ticket's status, team and agent resolves."
              if ok else "\nFAILED: see the differences above.")
        return 0 if ok else 1
    finally:
        if args.summary:
            args.summary.write_text(json.dumps(summary, indent=2, default=str))
        if sim is not None:
            sim.stop()


if __name__ == "__main__":
    sys.exit(main())
