"""HaloITSM API simulator for tests, the demo and benchmarks.

In-process use::

    from integration_tests.halo_simulator import HaloSimulator
    with HaloSimulator(tickets=2000, seed=42, rate_limit=300, retry_after=True) as sim:
        sim.base_url                     # http://127.0.0.1:PORT
        sim.configure(faults=["500:on=3,7"], repeat_last_page=True)
        sim.request_log                  # [{time, method, path, params, status, fault, seq}, ...]
        sim.api_requests("/api/tickets") # filtered log, case-insensitive
        sim.truth()                      # {id: {last_update, tickettype_id, deleted, status_id, dateoccurred}}
        sim.truth("users")               # {id: row as served, inactive rows included}; also clients, sites,
                                         # agents, teams, statuses, ticket_types, slas, categories, outcomes,
                                         # custom_fields; priorities: {priorityid: {slaid: row}}
        sim.truth("ticket_custom_fields")  # {ticket id: {field id: value}} (fields with a value only)
        sim.truth("actions")             # {(ticket_id, id): action row as served, without html fields}
        sim.mutate(update=5, create=2, delete=1)
        sim.mutate(users=3, clients=1, sites=2)  # their last-update time moves to now
        sim.mutate(actions_add=3, actions_edit=2, actions_delete=1)  # tickets' last_update follows
        sim.issued_tokens

Actions (a ticket's history: notes, emails, status changes, time entries) are served by
``GET /api/Actions`` per ticket or per datetime range, consistent with the tickets
(``lastactiondate`` is the newest action's ``datetime``): quirks.py Q26, Q36-Q41. Their
number: ``HaloSimulator(actions_per_ticket=5.0)``.

Halo's reference lists are served consistent with the tickets (every id a ticket
carries resolves, inactive rows included): Status, TicketType, Priority, SLA,
Team, Agent, Client, Site, Users, Category, Outcome, FieldInfo (quirks.py Q29-Q35).

Command line: ``python -m integration_tests.halo_simulator --help``.

Control path (no auth, never logged): ``GET /_sim/log``, ``POST /_sim/reset_log``,
``GET /_sim/truth[?stream=users][&include_deleted=true]``, ``GET|POST /_sim/config`` (JSON switches),
``POST /_sim/mutate`` (``{"update": n, "create": n, "delete": n, "ids": [...], "users": n, "clients": n,
"sites": n, "actions_add": n, "actions_edit": n, "actions_delete": n}``), ``GET /_sim/tokens``,
``POST /_sim/invalidate_tokens``, ``GET /_sim/health``. ``GET /_sim/truth?stream=actions`` keys
actions as ``"ticket_id:id"``.

Every Halo quirk reproduced is described once, in ``quirks.py``; switches are
listed in ``server.SWITCHES``; fault and mutation-schedule syntax in ``faults.py``.
"""
from .faults import FAULT_KINDS
from .server import SWITCHES, HaloSimulator

__all__ = ["HaloSimulator", "SWITCHES", "FAULT_KINDS"]
