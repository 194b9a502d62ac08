"""Command line: ``python -m integration_tests.halo_simulator --port P --tickets N ...``."""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from .faults import FAULT_KINDS, Fault, MutationRule
from .server import ACTIONS_PAGING_MODES, ACTIONS_RANGE_MODES, CATEGORY_SHAPES, DEFAULT_ORDERS, DELETED_TICKET_ACTIONS, SWITCHES, HaloSimulator


def _port(v: str) -> int:
    try:
        p = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {v!r}: not an integer")
    if not 0 <= p <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {p}: must be 0..65535 (0 = ephemeral)")
    return p


def _nonneg_int(v: str) -> int:
    try:
        i = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{v!r} is not an integer")
    if i < 0:
        raise argparse.ArgumentTypeError(f"{i} must be >= 0")
    return i


def _pos_int(v: str) -> int:
    i = _nonneg_int(v)
    if i < 1:
        raise argparse.ArgumentTypeError(f"{i} must be >= 1")
    return i


def _nonneg_float(v: str) -> float:
    try:
        f = float(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{v!r} is not a number")
    if f < 0:
        raise argparse.ArgumentTypeError(f"{f} must be >= 0")
    return f


def _fault(v: str) -> Fault:
    try:
        return Fault.parse(v)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e))


def _mutation(v: str, repeat: bool = False) -> MutationRule:
    try:
        r = MutationRule.parse(v)
    except (ValueError, TypeError, KeyError) as e:
        raise argparse.ArgumentTypeError(str(e))
    r.repeat = repeat or r.repeat
    return r


def _on_off(v: str) -> bool:
    s = v.strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{v!r} is not on/off")


def build_parser() -> argparse.ArgumentParser:
    fault_help = "; ".join(f"{k}: {v}" for k, v in FAULT_KINDS.items())
    p = argparse.ArgumentParser(
        prog="python -m integration_tests.halo_simulator",
        description="HaloITSM API simulator (POST /auth/token, GET /api/Tickets and friends) on 127.0.0.1. "
                    "Quirks: integration_tests/halo_simulator/quirks.py; the Halo behaviour behind them, with sources: "
                    "docs/halo-api.md. Control path: /_sim/{log,truth,config,mutate,reset_log,tokens,health}.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,
    )
    g = p.add_argument_group("server and data")
    g.add_argument("--host", default="127.0.0.1", help="address to bind")
    g.add_argument("--port", type=_port, default=0, help="TCP port; 0 = ephemeral (printed at start)")
    g.add_argument("--tickets", type=_nonneg_int, default=2000, help="number of generated tickets")
    g.add_argument("--seed", type=int, default=42, help="data seed (same seed = same data)")
    g.add_argument("--span-days", type=_nonneg_float, default=730.0, help="dateoccurred/last_update spread, in days, ending at --end")
    g.add_argument("--end", default=None, help="end of the generated history (UTC, e.g. 2026-01-01T00:00:00); default: now")
    g.add_argument("--cache-size", type=_nonneg_int, default=20000, help="rendered tickets kept in the JSON cache")
    g.add_argument("--actions-per-ticket", type=_nonneg_float, default=5.0,
                   help="average actions per ticket (a few tickets have 50+, about 5%% none; 0 = no actions) (Q36)")
    g = p.add_argument_group("authentication")
    g.add_argument("--client-id", default="demo-client", help="accepted client_id")
    g.add_argument("--client-secret", default="demo-secret", help="accepted client_secret")
    g.add_argument("--tenant", default="demo", help="expected ?tenant= value ('' = do not check)")
    g.add_argument("--require-tenant", action="store_true", help=SWITCHES["require_tenant"][1])
    g.add_argument("--wrong-tenant-status", type=int, choices=(401, 500), default=500, help=SWITCHES["wrong_tenant_status"][1])
    g.add_argument("--token-ttl", type=_nonneg_int, default=3600, help=SWITCHES["token_ttl"][1])
    g.add_argument("--token-max-uses", type=_nonneg_int, default=0, help=SWITCHES["token_max_uses"][1])
    g = p.add_argument_group("rate limit")
    g.add_argument("--rate-limit", type=_nonneg_int, default=0, help=SWITCHES["rate_limit"][1])
    g.add_argument("--rate-window", type=_nonneg_float, default=300.0, help=SWITCHES["rate_window"][1])
    g.add_argument("--retry-after", type=_on_off, default=False, metavar="on|off", help=SWITCHES["retry_after"][1])
    g.add_argument("--rate-limit-auth", action="store_true", help=SWITCHES["rate_limit_auth"][1])
    g.add_argument("--rate-limit-count-rejected", action="store_true", help=SWITCHES["rate_limit_count_rejected"][1])
    g = p.add_argument_group("faults, latency and mutations")
    g.add_argument("--fault", dest="faults", type=_fault, action="append", default=[], metavar="KIND[:opt=val]...",
                   help="inject a fault (repeatable). Options: on=3,7 | every=K | p=0.1 | times=N | path=/api/tickets | page=2 | "
                        f"auth=true | seconds=S. Kinds: {fault_help}")
    g.add_argument("--fault-seed", type=int, default=0, help=SWITCHES["fault_seed"][1])
    g.add_argument("--latency", type=_nonneg_float, default=0.0, help=SWITCHES["latency"][1])
    g.add_argument("--latency-jitter", type=_nonneg_float, default=0.0, help=SWITCHES["latency_jitter"][1])
    mut = ("K[:update=M][:create=C][:delete=D][:users=U][:clients=L][:sites=S][:actions_add=A][:actions_edit=E]"
           "[:actions_delete=X][:path=/api/LIST]")
    g.add_argument("--mutate-after", dest="mutate_schedule", type=_mutation, action="append", default=[],
                   metavar=mut,
                   help="after the K-th list request to path (default /api/tickets, the ticket page requests; "
                        "/api/actions counts GET /api/Actions lists), update/create/delete tickets, move the "
                        "last-update time of U users, L clients, S sites to now, and add A / edit E / delete X "
                        "actions (repeatable)")
    g.add_argument("--mutate-every", dest="mutate_schedule", type=lambda v: _mutation(v, True), action="append",
                   metavar=mut, help="same, after every K-th such request")
    g = p.add_argument_group("ticket list behaviour")
    g.add_argument("--repeat-last-page", action="store_true", help=SWITCHES["repeat_last_page"][1])
    g.add_argument("--lastupdate-from-op", choices=(">=", ">"), default=">=", help=SWITCHES["lastupdate_from_op"][1])
    g.add_argument("--lastupdate-to-op", choices=("<=", "<"), default="<=", help=SWITCHES["lastupdate_to_op"][1])
    g.add_argument("--unpaged-limit", type=_nonneg_int, default=50, help=SWITCHES["unpaged_limit"][1])
    g.add_argument("--default-page-size", type=_pos_int, default=50, help=SWITCHES["default_page_size"][1])
    g.add_argument("--max-page-size", type=_pos_int, default=100, help=SWITCHES["max_page_size"][1])
    g.add_argument("--echo-requested-page-size", action="store_true", help=SWITCHES["echo_requested_page_size"][1])
    g.add_argument("--default-order", choices=tuple(DEFAULT_ORDERS), default="dateoccurred_desc",
                   help=SWITCHES["default_order"][1])
    g.add_argument("--ignore-include-custom-fields", action="store_true",
                   help=SWITCHES["ignore_include_custom_fields"][1])
    g = p.add_argument_group("actions (GET /api/Actions)")
    g.add_argument("--actions-max-range-days", type=_nonneg_int, default=1, help=SWITCHES["actions_max_range_days"][1])
    g.add_argument("--actions-range", choices=ACTIONS_RANGE_MODES, default="answer", help=SWITCHES["actions_range"][1])
    g.add_argument("--actions-paging", choices=ACTIONS_PAGING_MODES, default="paged", help=SWITCHES["actions_paging"][1])
    g = p.add_argument_group("reference lists (Agent, Team, Client, Site, Users, TicketType, Category, Outcome ...)")
    g.add_argument("--hide-inactive", type=_on_off, default=True, metavar="on|off", help=SWITCHES["hide_inactive"][1])
    g.add_argument("--category-shape", choices=CATEGORY_SHAPES, default="array", help=SWITCHES["category_shape"][1])
    g = p.add_argument_group("clock and deletions")
    g.add_argument("--clock-offset", type=float, default=0.0, metavar="SECONDS", help=SWITCHES["clock_offset"][1])
    g.add_argument("--date-header", type=_on_off, default=True, metavar="on|off", help=SWITCHES["date_header"][1])
    g.add_argument("--delete-moves-last-update", action="store_true", help=SWITCHES["delete_moves_last_update"][1])
    g.add_argument("--deleted-ticket-actions", choices=DELETED_TICKET_ACTIONS, default="hidden",
                   help=SWITCHES["deleted_ticket_actions"][1])
    g = p.add_argument_group("other")
    g.add_argument("--echo-secrets", action="store_true", help=SWITCHES["echo_secrets"][1])
    return p


def simulator_from_args(parser: argparse.ArgumentParser, a: argparse.Namespace) -> HaloSimulator:
    """The simulator the command line describes (not started)."""
    if a.rate_window <= 0:
        parser.error("--rate-window must be > 0")
    switches = {k: getattr(a, k) for k in SWITCHES if hasattr(a, k)}
    try:
        return HaloSimulator(tickets=a.tickets, seed=a.seed, client_id=a.client_id, client_secret=a.client_secret,
                             tenant=a.tenant or None, host=a.host, port=a.port, span_days=a.span_days, end=a.end,
                             cache_size=a.cache_size, actions_per_ticket=a.actions_per_ticket, **switches)
    except ValueError as e:
        parser.error(str(e))


def simulator_from_argv(argv) -> HaloSimulator:
    """The simulator `python -m integration_tests.halo_simulator ARGV` would start (not started): what
    integration_tests/cat_records.py uses, so the expected records come from the very command line
    that serves Airbyte's acceptance tests."""
    parser = build_parser()
    return simulator_from_args(parser, parser.parse_args(argv))


def main(argv=None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    sim = simulator_from_args(parser, a)
    try:
        sim.start()
    except OSError as e:
        parser.exit(2, f"{parser.prog}: error: cannot listen on {a.host}:{a.port}: {e}\n")
    print(f"Halo simulator listening on {sim.base_url} ({a.tickets} tickets, tenant={a.tenant!r}, "
          f"client_id={a.client_id!r})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
