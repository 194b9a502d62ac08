"""HaloITSM API simulator for tests, the demo and benchmarks.

In-process use::

    from integration_tests.halo_simulator import HaloSimulator
    with HaloSimulator(tickets=2000, seed=42, rate_limit=300, retry_after=True) as sim:
        sim.base_url                     # http://127.0.0.1:PORT
        sim.configure(faults=["500:on=3,7"], repeat_last_page=True)
        sim.request_log                  # [{time, method, path, params, status, fault, seq}, ...]
        sim.api_requests("/api/tickets") # filtered log, case-insensitive
        sim.truth()                      # {id: {last_update, tickettype_id, deleted, status_id, dateoccurred}}
        sim.mutate(update=5, create=2, delete=1)
        sim.issued_tokens

Command line: ``python -m integration_tests.halo_simulator --help``.

Control path (no auth, never logged): ``GET /_sim/log``, ``POST /_sim/reset_log``,
``GET /_sim/truth[?include_deleted=true]``, ``GET|POST /_sim/config`` (JSON switches),
``POST /_sim/mutate`` (``{"update": n, "create": n, "delete": n, "ids": [...]}``),
``GET /_sim/tokens``, ``POST /_sim/invalidate_tokens``, ``GET /_sim/health``.

Every Halo quirk reproduced is described once, in ``quirks.py``; switches are
listed in ``server.SWITCHES``; fault and mutation-schedule syntax in ``faults.py``.
"""
from .faults import FAULT_KINDS
from .server import SWITCHES, HaloSimulator

__all__ = ["HaloSimulator", "SWITCHES", "FAULT_KINDS"]
