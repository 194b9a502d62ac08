"""The HTTP side of the HaloITSM simulator: auth, /api routes, switches, control path.

Behaviour follows ``quirks.py`` (Q numbers in comments); data comes from ``data.py``;
faults and mutation schedules from ``faults.py``.
"""
from __future__ import annotations

import base64
import collections
import email.utils
import hashlib
import math
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from . import quirks
from .data import CUSTOM_FIELD_BY_ID, TicketStore, fmt_ms, parse_dt_us
from .faults import FAULT_KINDS, Fault, MutationRule

# name -> (default, help). Every switch is a constructor kwarg, a configure() kwarg,
# a POST /_sim/config key and a command-line option (see __main__.py).
SWITCHES = {
    "token_ttl": (3600, "token lifetime in seconds, sent as expires_in (Q2)"),
    "token_max_uses": (0, "a token stops working after this many API requests; 0 = unlimited (Q2)"),
    "require_tenant": (False, "reject token requests without ?tenant= (Q4)"),
    "wrong_tenant_status": (500, "status for a wrong tenant: 500 (as halopsa-pypi saw, docs/halo-api.md 1.4) or 401 (Q4)"),
    "rate_limit": (0, "max requests per rolling window; 0 = off. Halo hosted: 300 (Q27)"),
    "rate_window": (300.0, "rolling window length in seconds; Halo hosted: 300 (Q27)"),
    "retry_after": (False, "send Retry-After on 429 (UNKNOWN in Halo, Q27)"),
    "rate_limit_auth": (False, "count and limit POST /auth/token too"),
    "rate_limit_count_rejected": (False, "rejected (429) requests also fill the window"),
    "faults": ([], "fault specs, see faults.py (Q28)"),
    "fault_seed": (0, "seed for probabilistic faults"),
    "repeat_last_page": (False, "pages past the end repeat the last page (Q12)"),
    "mutate_schedule": ([], "mutation rules keyed on ticket-page requests, see faults.py"),
    "latency": (0.0, "seconds added to every /auth and /api request (WAN emulation)"),
    "latency_jitter": (0.0, "extra uniform random latency, 0..this many seconds"),
    "lastupdate_from_op": (">=", "lastupdatefromdate comparison: '>=' or '>' (Q15)"),
    "lastupdate_to_op": ("<=", "lastupdatetodate comparison: '<=' or '<' (Q15)"),
    "echo_secrets": (False, "error bodies echo the client secret / bearer token (leak tests)"),
    "unpaged_limit": (50, "rows returned without pageinate or count; 0 = all (Q10, UNKNOWN)"),
    "default_page_size": (50, "page size when pageinate=true has no page_size (Q9, UNKNOWN)"),
    "max_page_size": (100, "silent page_size cap (Q9)"),
    "echo_requested_page_size": (False, "echo the requested, not the capped, page_size (Q9)"),
    "default_order": ("dateoccurred_desc", "order without order=: dateoccurred_desc | pseudo_random | id (Q13)"),
    "hide_inactive": (True, "reference lists leave inactive / disabled / hidden rows (and agent 1) out unless "
                            "the request's include parameter asks for them; off = always listed (Q30, UNKNOWN)"),
    "category_shape": ("array", "GET /api/Category answers a bare 'array' or an 'object' {record_count, categories} "
                                "(Q33, UNKNOWN)"),
    "ignore_include_custom_fields": (False, "ticket list rows never carry customfields, whatever "
                                            "include_custom_fields asks (Q18, UNKNOWN)"),
    "actions_max_range_days": (1, "GET /api/Actions: a startdate..enddate range without ticket_id longer than this "
                                  "many days gets a 400; 0 = no limit (Q38; halopsa-pypi's claim: 1 day)"),
    "actions_range": ("answer", "GET /api/Actions range queries without ticket_id: 'answer' | 'refuse' (400) | "
                                "'empty' (record_count 0) (Q38, UNKNOWN)"),
    "actions_paging": ("paged", "GET /api/Actions: 'paged' honours pageinate/page_size/page_no; 'ignored' answers "
                                "every matching action at once (Q39, UNKNOWN)"),
    "clock_offset": (0.0, "seconds Halo's clock runs ahead (+) or behind (-) the real one: the Date header and the "
                          "last_update of every change carry it; give it when starting (the generated data ends at "
                          "Halo's present) (Q42)"),
    "date_header": (True, "answers carry the HTTP Date header (RFC 9110; Halo's IIS sends it, Q42)"),
    "delete_moves_last_update": (False, "deleting a ticket moves its last_update to the time of deletion (Q13, UNKNOWN)"),
    "deleted_ticket_actions": ("hidden", "GET /api/Actions?ticket_id= of a deleted ticket: 'hidden' (no actions) or "
                                         "'listed' (its actions, as before the deletion) (Q43, UNKNOWN)"),
}
DELETED_TICKET_ACTIONS = ("hidden", "listed")
CATEGORY_SHAPES = ("array", "object")
ACTIONS_RANGE_MODES = ("answer", "refuse", "empty")
ACTIONS_PAGING_MODES = ("paged", "ignored")
# Q30: per reference list: (row field, its value on an inactive row, parameter that includes inactive
# rows, parameter that may leave active rows out)
INACTIVE_RULES = {
    "agent": ("isdisabled", True, "includedisabled", "includeenabled"),
    "team": ("inactive", True, "includedisabled", "includeenabled"),
    "client": ("inactive", True, "includeinactive", "includeactive"),
    "site": ("inactive", True, "includeinactive", "includeactive"),
    "users": ("inactive", True, "includeinactive", "includeactive"),
    "tickettype": ("active", False, "showinactive", None),
    "outcome": ("hidden", True, "showhidden", None),
}
# truth(stream) names; endpoint names and singulars are accepted too
TRUTH_STREAMS = {"tickets": "tickets", "ticket_custom_fields": "ticket_custom_fields", "agents": "agents",
                 "teams": "teams", "statuses": "statuses", "ticket_types": "ticket_types", "priorities": "priorities",
                 "slas": "slas", "clients": "clients", "sites": "sites", "users": "users", "categories": "categories",
                 "outcomes": "outcomes", "custom_fields": "custom_fields",
                 "agent": "agents", "team": "teams", "status": "statuses", "tickettype": "ticket_types",
                 "tickettypes": "ticket_types", "ticket_type": "ticket_types", "priority": "priorities", "sla": "slas",
                 "client": "clients", "site": "sites", "user": "users", "category": "categories", "outcome": "outcomes",
                 "fieldinfo": "custom_fields", "custom_field_definitions": "custom_fields", "ticket": "tickets",
                 "actions": "actions", "action": "actions"}
DEFAULT_ORDERS = {"dateoccurred_desc": (("occ", True),), "pseudo_random": (), "id": (("id", False),)}
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
JSON = "application/json; charset=utf-8"


def _b(v) -> bool:
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def _int(v):
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        try:
            return int(float(str(v).strip()))
        except (TypeError, ValueError):
            return None


def _csv_ints(v):
    out = []
    for p in str(v).split(","):
        i = _int(p)
        if i is not None:
            out.append(i)
    return out


def _sendmsg_all(sock, bufs) -> None:
    """Scatter/gather send of a list of byte strings without joining them."""
    if not hasattr(sock, "sendmsg"):
        sock.sendall(b"".join(bufs))
        return
    views = [memoryview(b) for b in bufs]
    i = 0
    while i < len(views):
        sent = sock.sendmsg(views[i:i + 512])
        while sent and i < len(views):
            n = len(views[i])
            if sent >= n:
                sent -= n
                i += 1
            else:
                views[i] = views[i][sent:]
                sent = 0


class Resp:
    __slots__ = ("status", "body", "ctype", "headers", "ticket_page", "list_path")

    def __init__(self, status=200, body=b"", ctype=JSON, headers=None):
        self.status, self.body, self.ctype, self.headers = status, body, ctype, headers or {}
        self.ticket_page = False
        self.list_path = None  # "/api/<list>" for a list answer (mutation schedules count them)


def jresp(obj, status=200, headers=None) -> Resp:
    return Resp(status, orjson.dumps(obj), JSON, headers)


class BadParam(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 120

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.sim._conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.sim._conns.discard(self.connection)

    def log_message(self, format, *args):  # silence stderr access log
        pass

    def do_GET(self):
        self.server.sim._handle(self, "GET")

    def do_POST(self):
        self.server.sim._handle(self, "POST")

    def do_PUT(self):
        self.server.sim._handle(self, "PUT")

    def do_DELETE(self):
        self.server.sim._handle(self, "DELETE")

    def do_PATCH(self):
        self.server.sim._handle(self, "PATCH")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that goes away mid-request (a cancelled read, a killed connector) is normal: no traceback.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class HaloSimulator:
    """In-process HaloITSM API simulator. See the package docstring for the API."""

    def __init__(self, tickets: int = 2000, seed: int = 42, client_id: str = "demo-client",
                 client_secret: str = "demo-secret", tenant: str | None = "demo", host: str = "127.0.0.1",
                 port: int = 0, span_days: float = 730.0, end: str | None = None, cache_size: int = 20000,
                 actions_per_ticket: float = 5.0, **switches):
        if tickets < 0:
            raise ValueError("tickets must be >= 0")
        self.client_id, self.client_secret, self.tenant = client_id, client_secret, tenant
        self.host, self.port = host, port
        offset = float(switches.get("clock_offset", 0.0) or 0.0)
        end_ms = parse_dt_us(end) // 1000 if end else (int((time.time() + offset) * 1000) if offset else None)
        self.store = TicketStore(tickets, seed=seed, span_days=span_days, end_ms=end_ms, cache_size=cache_size,
                                 actions_per_ticket=actions_per_ticket)
        self.seed = seed
        self._lock = threading.RLock()
        self._conns: set = set()
        self._server = None
        self._thread = None
        self.request_log: list = []
        self.issued_tokens: list = []
        self._tokens: dict = {}
        self._rate = collections.deque()
        self._ticket_page_requests = 0
        self._list_requests: collections.Counter = collections.Counter()
        self._seq = 0
        self.mutations: list = []
        self.max_concurrency = 0  # most /auth + /api requests in flight at once
        self._inflight = 0
        self._tls = threading.local()
        for k, (default, _) in SWITCHES.items():
            setattr(self, k, list(default) if isinstance(default, list) else default)
        self.configure(**switches)

    # ------------------------------------------------------------------ control
    def configure(self, **switches) -> "HaloSimulator":
        """Change switches (see SWITCHES); takes effect for the next request."""
        unknown = set(switches) - set(SWITCHES)
        if unknown:
            raise TypeError(f"unknown simulator switch(es): {', '.join(sorted(unknown))}")
        with self._lock:
            vals = {}
            for k, v in switches.items():
                default = SWITCHES[k][0]
                if k == "faults":
                    v = [Fault.parse(f, seed=(switches.get("fault_seed", self.fault_seed) or 0) * 1000 + i)
                         for i, f in enumerate(v or [])]
                elif k == "mutate_schedule":
                    v = [MutationRule.parse(m) for m in (v or [])]
                elif k == "lastupdate_from_op":
                    if v not in (">=", ">"):
                        raise ValueError("lastupdate_from_op must be '>=' or '>'")
                elif k == "lastupdate_to_op":
                    if v not in ("<=", "<"):
                        raise ValueError("lastupdate_to_op must be '<=' or '<'")
                elif k == "category_shape":
                    if v not in CATEGORY_SHAPES:
                        raise ValueError(f"category_shape must be one of {', '.join(CATEGORY_SHAPES)}")
                elif k == "actions_range":
                    if v not in ACTIONS_RANGE_MODES:
                        raise ValueError(f"actions_range must be one of {', '.join(ACTIONS_RANGE_MODES)}")
                elif k == "actions_paging":
                    if v not in ACTIONS_PAGING_MODES:
                        raise ValueError(f"actions_paging must be one of {', '.join(ACTIONS_PAGING_MODES)}")
                elif k == "default_order":
                    if v not in DEFAULT_ORDERS:
                        raise ValueError(f"default_order must be one of {', '.join(DEFAULT_ORDERS)}")
                elif k == "clock_offset":
                    v = float(v)
                    if abs(v) > 7 * 86400:
                        raise ValueError("clock_offset must be within a week either way")
                elif k == "deleted_ticket_actions":
                    if v not in DELETED_TICKET_ACTIONS:
                        raise ValueError(f"deleted_ticket_actions must be one of {', '.join(DELETED_TICKET_ACTIONS)}")
                elif k == "wrong_tenant_status":
                    if int(v) not in (401, 500):
                        raise ValueError("wrong_tenant_status must be 401 or 500")
                    v = int(v)
                elif isinstance(default, bool):
                    v = v if isinstance(v, bool) else _b(v)
                elif isinstance(default, int):
                    v = int(v)
                    if v < 0:
                        raise ValueError(f"{k} must be >= 0")
                elif isinstance(default, float):
                    v = float(v)
                    if v < 0:
                        raise ValueError(f"{k} must be >= 0")
                vals[k] = v
            if vals.get("max_page_size", self.max_page_size) < 1 or vals.get("default_page_size", self.default_page_size) < 1:
                raise ValueError("page sizes must be >= 1")
            if vals.get("rate_window", self.rate_window) <= 0:
                raise ValueError("rate_window must be > 0")
            for k, v in vals.items():
                setattr(self, k, v)
                if k in ("clock_offset", "delete_moves_last_update", "deleted_ticket_actions"):
                    setattr(self.store, k, v)  # the store applies them to changes and action queries
                    self.store._aqcache.clear()
            if "rate_limit" in vals or "rate_window" in vals:
                self._rate.clear()
        return self

    def config(self) -> dict:
        with self._lock:
            out = {}
            for k in SWITCHES:
                v = getattr(self, k)
                if k in ("faults", "mutate_schedule"):
                    v = [x.to_dict() for x in v]
                out[k] = v
            return out

    def start(self) -> "HaloSimulator":
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _Handler)
        self._server.sim = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"halo-sim-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        srv = self._server
        if srv is None:
            return
        srv.shutdown()
        srv.server_close()
        for c in list(self._conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def api_requests(self, path_prefix: str = "/api") -> list:
        p = path_prefix.lower()
        with self._lock:
            return [e for e in self.request_log if e["path"].lower().startswith(p)]

    def reset_log(self) -> None:
        with self._lock:
            self.request_log.clear()

    def truth(self, stream: str = "tickets", include_deleted: bool = False) -> dict:
        """Ground truth (quirks.py, simulator-only). ``tickets`` (default): {id: {last_update,
        tickettype_id, deleted, status_id, dateoccurred}}; ``ticket_custom_fields``: {ticket id:
        {field id: value}} (fields with a value only); a reference list (``users``, ``clients``, ``sites``, ``agents``, ``teams``,
        ``statuses``, ``ticket_types``, ``slas``, ``categories``, ``outcomes``, ``custom_fields``):
        {id: row as served, inactive rows included}; ``priorities``: {priorityid: {slaid: row}};
        ``actions``: {(ticket_id, id): row as served, without html fields} (Q36-Q40).
        ``include_deleted`` applies to the ticket streams and to actions (those of deleted tickets)."""
        name = TRUTH_STREAMS.get(str(stream).strip().lower())
        if name is None:
            raise ValueError(f"unknown truth stream {stream!r}; choose from {', '.join(sorted(set(TRUTH_STREAMS.values())))}")
        if name == "tickets":
            return self.store.truth(include_deleted=include_deleted)
        if name == "ticket_custom_fields":
            return self.store.custom_field_truth(include_deleted=include_deleted)
        if name == "actions":
            return self.store.actions_truth(include_deleted=include_deleted)
        return self.store.ref.truth(name)

    def mutate(self, update: int = 0, create: int = 0, delete: int = 0, ids=None, users: int = 0,
               clients: int = 0, sites: int = 0, actions_add: int = 0, actions_edit: int = 0,
               actions_delete: int = 0) -> list:
        """Update ``update`` random tickets (plus the given ``ids``): their last_update moves to now,
        and a status they change is a "Status Change" action; create ``create`` new tickets (each with
        a "Ticket Logged" action); soft-delete ``delete`` random tickets (their actions are no longer
        listed); move the last-update time (``ulastupdate``, ``alastupdate``, ``slastupdate``) of
        ``users`` / ``clients`` / ``sites`` random rows to now, flipping ``inactive`` on one in five;
        add ``actions_add`` actions to random live tickets, edit ``actions_edit`` and delete
        ``actions_delete`` random actions (quirks.py Q39, simulator-only).
        Returns the affected ticket ids (updated, then created, then deleted, then the other tickets
        whose actions changed); the breakdown - reference rows' ids under ``users`` / ``clients`` /
        ``sites``, actions as [ticket_id, id] under ``actions_added`` / ``actions_edited`` /
        ``actions_deleted`` - is ``sim.mutations[-1]``."""
        res = self.store.mutate(update=update, create=create, delete=delete, ids=ids, users=users,
                                clients=clients, sites=sites, actions_add=actions_add, actions_edit=actions_edit,
                                actions_delete=actions_delete)
        with self._lock:
            self.mutations.append({"time": time.time(), **res})
        out = res["updated"] + res["created"] + res["deleted"]
        seen = set(out)
        for key in ("actions_added", "actions_edited", "actions_deleted"):
            for tid, _ in res[key]:
                if tid not in seen:
                    seen.add(tid)
                    out.append(tid)
        return out

    def invalidate_tokens(self) -> None:
        """Make every issued token invalid (as if the server restarted)."""
        with self._lock:
            self._tokens.clear()

    # ------------------------------------------------------------------ request plumbing
    def _send(self, h: BaseHTTPRequestHandler, r: Resp, head_only_len: int | None = None) -> None:
        body = r.body
        parts = body if isinstance(body, list) else [body]
        size = sum(len(p) for p in parts)
        lines = [f"HTTP/1.1 {r.status} {REASONS.get(r.status, 'Status')}",
                 f"Content-Length: {size if head_only_len is None else head_only_len}",
                 "Server: Microsoft-IIS/10.0"]
        if self.date_header:  # Q42: Halo's own clock, offset like its last_update values
            lines.append("Date: " + email.utils.formatdate(time.time() + self.clock_offset, usegmt=True))
        if size or r.ctype != JSON:
            lines.append(f"Content-Type: {r.ctype}")
        for k, v in r.headers.items():
            lines.append(f"{k}: {v}")
        if h.close_connection:
            lines.append("Connection: close")
        bufs = [("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")] + [p for p in parts if p]
        try:
            _sendmsg_all(h.connection, bufs)
        except OSError:
            h.close_connection = True

    def _drop(self, h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _log(self, method, path, params, status, fault=None) -> None:
        t0 = self._tls.t0
        with self._lock:
            self._seq += 1
            self.request_log.append({"time": t0, "method": method, "path": path, "params": params,
                                     "status": status, "fault": fault, "seq": self._seq,
                                     "duration": time.time() - t0,
                                     "token": getattr(self._tls, "token", None)})

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        path_l = path.lower().rstrip("/") or "/"
        query = parse_qsl(parts.query, keep_blank_values=True)
        length = _int(h.headers.get("Content-Length") or 0) or 0
        body = h.rfile.read(length) if length > 0 else b""
        # which token signed the request, as a fingerprint (the log never holds a token)
        bearer = h.headers.get("Authorization") or ""
        self._tls.token = hashlib.sha256(bearer[7:].strip().encode()).hexdigest()[:12] if bearer[:7].lower() == "bearer " else None
        if path_l.startswith("/_sim/"):
            try:
                r = self._control(method, path_l, dict(query), body)
            except (ValueError, TypeError, KeyError) as e:
                r = jresp({"error": str(e)}, 400)
            self._send(h, r)
            return
        is_auth = path_l in ("/auth/token",)
        is_api = path_l == "/api" or path_l.startswith("/api/")
        if path_l.startswith("/auth/.well-known/openid-configuration"):
            self._send(h, jresp({"issuer": self.base_url + "/auth/", "token_endpoint": self.base_url + "/auth/token",
                                 "grant_types_supported": ["client_credentials"],
                                 "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                                 "scopes_supported": sorted(quirks.VALID_SCOPES)}))
            return
        if not (is_auth or is_api):
            self._send(h, Resp(404))
            return
        self._tls.t0 = time.time()
        with self._lock:
            self._inflight += 1
            self.max_concurrency = max(self.max_concurrency, self._inflight)
        try:
            self._handle_logged(h, method, path, path_l, query, body, is_auth, is_api)
        finally:
            with self._lock:
                self._inflight -= 1

    def _handle_logged(self, h, method, path, path_l, query, body, is_auth, is_api) -> None:
        params = dict(query)
        form = {}
        if is_auth:
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            params.update({k: v for k, v in form.items() if k != "client_secret"})
        # latency (WAN emulation)
        lat = self.latency + (self.store._mut_rng.random() * self.latency_jitter if self.latency_jitter else 0.0)
        if lat > 0:
            time.sleep(lat)
        # rate limit (Q27)
        if self.rate_limit and (is_api or self.rate_limit_auth):
            retry = None
            with self._lock:
                now = time.monotonic()
                dq = self._rate
                while dq and dq[0] <= now - self.rate_window:
                    dq.popleft()
                if len(dq) >= self.rate_limit:
                    retry = max(1, math.ceil(dq[0] + self.rate_window - now))
                    if self.rate_limit_count_rejected:
                        dq.append(now)
                else:
                    dq.append(now)
            if retry is not None:
                hdrs = {"Retry-After": str(retry)} if self.retry_after else {}
                self._log(method, path, params, 429, "rate_limit")
                self._send(h, jresp({"error": quirks.rate_limit_message(self.rate_limit, self.rate_window)}, 429, hdrs))
                return
        # faults (Q28)
        fault, delay = None, 0.0
        with self._lock:
            # every applicable fault counts every matching request; the first
            # firing non-delay fault wins, delays add up and then answer normally
            for f in self.faults:
                if f.applies(path_l, is_auth, params) and f.check(count_fire=False):
                    if f.kind == "delay":
                        delay += f.seconds
                        f.fired += 1
                    elif fault is None:
                        fault = f.kind
                        f.fired += 1
        if delay:
            time.sleep(delay)
        if fault == "drop":
            self._log(method, path, params, 0, "drop")
            self._drop(h)
            return
        if fault in ("500", "502", "503", "504", "429", "html"):
            r = self._fault_response(fault, h, form)
            self._log(method, path, params, r.status, fault)
            self._send(h, r)
            return
        # route
        try:
            if is_auth:
                r = self._token(method, params, form, h)
            else:
                r = self._api(method, path_l, params, h)
        except BadParam as e:
            r = jresp(quirks.dotnet_error(str(e), "System.FormatException"), 400)
        except Exception as e:  # pragma: no cover - simulator bug, answer like Halo would
            r = jresp(quirks.dotnet_error(f"{type(e).__name__}: {e}"), 500)
        status = r.status
        if isinstance(r.body, list) and fault in ("truncated", "partial"):
            r.body = b"".join(r.body)
        if fault == "truncated" and r.status == 200:
            r.body = r.body[: max(1, len(r.body) // 2)]
        if fault == "partial" and r.status == 200:
            self._log(method, path, params, status, fault)
            full = len(r.body)
            r.body = r.body[: max(1, full // 2)]
            h.close_connection = True
            self._send(h, r, head_only_len=full)
            self._drop(h)
            return
        self._log(method, path, params, status, fault)
        if r.ticket_page or r.list_path:
            # the answer is built: scheduled mutations fire now, before it is sent, so a client that
            # has its answer also sees their effect (and a test never races them)
            self._after_list_page(r.list_path or "/api/tickets")
        self._send(h, r)

    def _after_list_page(self, list_path: str) -> None:
        """Mutation schedules: each rule counts the list requests of its ``path`` (faults.py)."""
        with self._lock:
            self._list_requests[list_path] += 1
            if list_path == "/api/tickets":
                self._ticket_page_requests += 1
            n = self._list_requests[list_path]
            due = [m for m in self.mutate_schedule if m.path == list_path and m.due(n)]
            for m in due:
                m.done += 1
        for m in due:
            self.mutate(update=m.update, create=m.create, delete=m.delete, users=m.users, clients=m.clients,
                        sites=m.sites, actions_add=m.actions_add, actions_edit=m.actions_edit,
                        actions_delete=m.actions_delete)

    def _fault_response(self, kind: str, h, form) -> Resp:
        secret_echo = ""
        if self.echo_secrets:
            secret_echo = f" (client_secret={form.get('client_secret', '')!s}, authorization={h.headers.get('Authorization', '')})"
        if kind == "500":
            return jresp(quirks.dotnet_error("An unexpected error occurred." + secret_echo), 500)
        if kind == "502":
            return Resp(502, ("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
                              f"<p>The proxy server received an invalid response.{secret_echo}</p></body></html>").encode(),
                        "text/html")
        if kind == "503":
            return Resp(503, f"<html><body><h1>Service Unavailable</h1>{secret_echo}</body></html>".encode(),
                        "text/html", {"Retry-After": "1"} if self.retry_after else {})
        if kind == "504":
            return Resp(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html")
        if kind == "429":
            return jresp({"error": quirks.rate_limit_message(self.rate_limit or 300, self.rate_window)}, 429,
                         {"Retry-After": "1"} if self.retry_after else {})
        # html with 200: e.g. a login / maintenance page from a proxy
        return Resp(200, ("<!DOCTYPE html><html><head><title>Halo - Log in</title></head><body>"
                          "<form action=\"/auth/Account/Login\">Please sign in</form>"
                          f"{secret_echo}</body></html>").encode(), "text/html; charset=utf-8")

    # ------------------------------------------------------------------ auth (Q1-Q4)
    def _oauth_error(self, status, error, description) -> Resp:
        return jresp({"error": error, "error_description": description,
                      "error_uri": "https://documentation.openiddict.com/errors/ID2000"}, status)

    def _token(self, method, params, form, h) -> Resp:
        if method != "POST":
            return Resp(405)
        ctype = (h.headers.get("Content-Type") or "").lower()
        if "application/x-www-form-urlencoded" not in ctype:
            return self._oauth_error(400, "invalid_request", "The specified HTTP method or content type is not valid.")
        q = {k.lower(): v for k, v in params.items()}
        tenant = q.get("tenant")
        if self.tenant:
            bad = (tenant is not None and tenant.strip().lower() != self.tenant.lower()) or (
                tenant is None and self.require_tenant)
            if bad:
                if self.wrong_tenant_status == 401:
                    return jresp(quirks.INVALID_CLIENT, 401)
                return jresp(quirks.dotnet_error("Object reference not set to an instance of an object.",
                                                 "System.NullReferenceException"), 500)
        grant = form.get("grant_type")
        if not grant:
            return self._oauth_error(400, "invalid_request", "The mandatory 'grant_type' parameter is missing.")
        if grant != "client_credentials":
            return self._oauth_error(400, "unsupported_grant_type", "The specified 'grant_type' is not supported.")
        scope = " ".join((form.get("scope") or "").split())
        bad_scopes = [s for s in scope.split() if s not in quirks.VALID_SCOPES]
        if bad_scopes:
            return self._oauth_error(400, "invalid_scope", "The specified 'scope' is invalid.")
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = h.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except Exception:
                pass
        if cid != self.client_id or secret != self.client_secret:
            body = dict(quirks.INVALID_CLIENT)
            if self.echo_secrets:
                body["error_description"] += f" client_id={cid} client_secret={secret}"
            return jresp(body, 401)
        token = "eyJ" + secrets.token_urlsafe(96)
        ttl = int(self.token_ttl)
        with self._lock:
            self._tokens[token] = {"exp": time.monotonic() + ttl, "uses": 0}
            self.issued_tokens.append(token)

        def b64(d):
            return base64.urlsafe_b64encode(orjson.dumps(d)).rstrip(b"=").decode()

        id_token = ".".join([b64({"alg": "RS256", "typ": "JWT"}),
                             b64({"sub": cid, "aud": cid, "iss": self.base_url + "/auth/",
                                  "exp": int(time.time()) + ttl}), secrets.token_urlsafe(32)])
        return jresp({"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope or "all",
                      "refresh_token": secrets.token_urlsafe(48), "id_token": id_token})

    def _check_bearer(self, h) -> Resp | None:
        auth = h.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        with self._lock:
            info = self._tokens.get(token) if token else None
            ok = info is not None and time.monotonic() < info["exp"] and (
                not self.token_max_uses or info["uses"] < self.token_max_uses)
            if ok:
                info["uses"] += 1
                return None
        body = b""
        if self.echo_secrets:
            body = orjson.dumps({"error": "invalid_token", "error_description": f"Token {token} is not valid"})
        return Resp(401, body, JSON, {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    # ------------------------------------------------------------------ resource API
    def _api(self, method, path_l, params, h) -> Resp:
        segs = path_l.split("/")[2:]  # after "", "api"
        q = {k.lower(): v for k, v in params.items()}  # Q7
        if segs[:1] == ["authinfo"]:  # Q5
            return jresp({"auth_url": self.base_url + "/auth", "tenant_id": self.tenant or "",
                          "resource_url": self.base_url + "/api", "auth_type": 0})
        denied = self._check_bearer(h)
        if denied:
            return denied
        if method != "GET":
            return Resp(405)
        if not segs or not segs[0]:
            return Resp(404)
        name, rest = segs[0], segs[1:]
        st, ref = self.store, self.store.ref
        if name == "tickets":
            if rest:
                tid = _int(rest[0])
                j = st.index_of(tid) if tid is not None else None
                if j is None or len(rest) > 1:
                    return Resp(404)
                return jresp(st.render(j, detail=True))
            r = self._tickets(q)
            r.ticket_page = True
            return r
        if name == "tickettype":
            types = ref.ticket_types(st.type_counts() if _b(q.get("showcounts", "")) else None)
            if rest:
                tid = _int(rest[0])
                t = next((x for x in types if x["id"] == tid), None)
                if not t:
                    return Resp(404)
                t = dict(t, fields=[{"id": cf["id"], "name": cf["name"], "label": cf["label"]}
                                    for cf in ref.fieldinfo_payload()])
                return jresp(t)
            return self._listed(jresp(self._visible("tickettype", types, q)), name)
        if name == "status":
            return self._listed(jresp(ref.statuses()), name)
        if name == "team":
            return self._listed(jresp(self._visible("team", ref.teams_payload(), q)), name)
        if name == "priority":
            return self._listed(jresp(ref.priorities_payload()), name)
        if name == "sla":
            return self._listed(jresp(ref.slas_payload()), name)
        if name == "fieldinfo":
            fi = ref.fieldinfo_payload()
            if rest:
                fid = _int(rest[0])
                f = next((x for x in fi if x["id"] == fid), None)
                return jresp(f) if f else Resp(404)
            return self._listed(jresp(fi), name)
        if name == "category":  # Q33
            cats = ref.categories_payload()
            if rest:
                return self._single(cats, rest)
            if q.get("type_id"):
                t = _int(q["type_id"])
                cats = [c for c in cats if c["type_id"] == t]
            if self.category_shape == "object":
                return self._listed(jresp({"record_count": len(cats), "categories": cats}), name)
            return self._listed(jresp(cats), name)
        if name == "outcome":  # Q34
            outs = ref.outcomes_payload()
            if rest:
                return self._single(outs, rest)
            return self._listed(jresp(self._visible("outcome", outs, q)), name)
        if name == "agent":
            agents = ref.agents_payload()
            if rest:
                if rest[0] == "me":
                    return jresp(agents[1])
                return self._single(agents, rest)
            agents = self._visible("agent", agents, q)
            if _b(q.get("pageinate", "")):
                return self._listed(self._paged("results", agents, q, echo_paging=True), name)
            return self._listed(jresp(agents), name)
        if name == "client":
            rows, lus = ref.snapshot("clients")
            if rest:
                return self._single(rows, rest)
            rows = self._last_update_filter(rows, lus, q)
            return self._listed(self._paged("clients", self._visible("client", rows, q), q, echo_paging=True), name)
        if name == "site":
            rows, lus = ref.snapshot("sites")
            if rest:
                return self._single(rows, rest)
            rows = self._last_update_filter(rows, lus, q)
            if q.get("client_id"):
                cid = _int(q["client_id"])
                rows = [s for s in rows if s["client_id"] == cid]
            return self._listed(self._paged("sites", self._visible("site", rows, q), q, echo_paging=True), name)
        if name == "users":
            rows, lus = ref.snapshot("users")
            if rest:
                return self._single(rows, rest)
            rows = self._last_update_filter(rows, lus, q)
            if q.get("site_id"):
                sid = _int(q["site_id"])
                rows = [u for u in rows if u["site_id_int"] == sid]
            return self._listed(self._paged("users", self._visible("users", rows, q), q, echo_paging=True), name)
        if name == "actions":
            return self._actions(q, rest)
        return Resp(404)

    @staticmethod
    def _single(items, rest) -> Resp:
        """One row by id (a single GET ignores the inactive filters, Q30); 404 if there is none."""
        i = _int(rest[0])
        it = next((x for x in items if x["id"] == i), None) if len(rest) == 1 else None
        return jresp(it) if it else Resp(404)

    @staticmethod
    def _listed(r: Resp, name: str) -> Resp:
        r.list_path = "/api/" + name
        return r

    def _visible(self, endpoint: str, rows, q):
        """Q30: with [hide_inactive], inactive / disabled / hidden rows only when the request's include
        parameter is true; active rows unless the 'active' parameter is explicitly false; agent 1
        ("Unassigned") only with includeunassigned=true."""
        if not self.hide_inactive:
            return rows
        field, inactive_value, incl, active_param = INACTIVE_RULES[endpoint]
        with_inactive = _b(q.get(incl, ""))
        with_active = not (active_param and active_param in q and not _b(q[active_param]))
        with_unassigned = endpoint != "agent" or _b(q.get("includeunassigned", ""))
        out = []
        for r in rows:
            if endpoint == "agent" and r["id"] == 1:
                if with_unassigned:
                    out.append(r)
            elif (r[field] == inactive_value and with_inactive) or (r[field] != inactive_value and with_active):
                out.append(r)
        return out

    def _last_update_filter(self, rows, lus, q):
        """Q32: lastupdatefromdate / lastupdatetodate on the list's last-update field, compared as
        [lastupdate_from_op] / [lastupdate_to_op] say (as for tickets, Q15)."""
        lf, lt = self._date(q, "lastupdatefromdate"), self._date(q, "lastupdatetodate")
        if lf is None and lt is None:
            return rows
        gt, lt_strict = self.lastupdate_from_op == ">", self.lastupdate_to_op == "<"
        out = []
        for r, ms in zip(rows, lus):
            us = ms * 1000
            if lf is not None and (us <= lf if gt else us < lf):
                continue
            if lt is not None and (us >= lt if lt_strict else us > lt):
                continue
            out.append(r)
        return out

    def _paged(self, key, items, q, echo_paging) -> Resp:
        total = len(items)
        if _b(q.get("pageinate", "")):
            sel, size, no = self._page_of(items, q)
            return jresp({"page_no": no, "page_size": size, "record_count": total, key: sel})
        cnt = _int(q.get("count", ""))
        if cnt and cnt > 0:
            items = items[:cnt]
        return jresp({"record_count": total, key: items})

    def _page_of(self, items, q):
        """(rows of the page asked for, page size, page number) of a paged list: the size capped
        silently (Q9), pages past the end empty or the last one again ([repeat_last_page], Q12)."""
        size, no = self._page_args(q)
        start = (no - 1) * size
        sel = items[start:start + size]
        if len(sel) == 0 and len(items) and self.repeat_last_page:
            sel = items[((len(items) - 1) // size) * size:]
        return sel, size, no

    def _page_head(self, q, size, no) -> bytes:
        """The start of a paged answer's object: page_no and page_size (the size asked for, with
        [echo_requested_page_size])."""
        echo = _int(q.get("page_size", "")) if self.echo_requested_page_size else None
        return b'{"page_no":%d,"page_size":%d,' % (no, echo if echo and echo > 0 else size)

    @staticmethod
    def _list_parts(head: bytes, total: int, key: bytes, rows, tail: bytes):
        """An answer `{...record_count, key: [rows], ...tail}` as parts sent with sendmsg, never joined."""
        parts = [head + b'"record_count":%d,"%s":[' % (total, key)]
        for k, row in enumerate(rows):
            if k:
                parts.append(b",")
            parts.append(row)
        parts.append(b"]" + tail + b"}")
        return parts

    def _page_args(self, q):
        req = _int(q.get("page_size", ""))
        if req is None or req < 1:
            req = self.default_page_size
        size = min(req, self.max_page_size)  # Q9 silent cap
        no = _int(q.get("page_no", ""))
        no = no if no and no > 0 else 1
        return size, no

    def _date(self, q, name):
        v = q.get(name)
        if v is None or v == "":
            return None
        try:
            return parse_dt_us(v)
        except (ValueError, IndexError):
            raise BadParam(f"String '{v}' was not recognized as a valid DateTime.")

    def _ticket_filter(self, q) -> dict:
        f: dict = {}
        types = None
        if "requesttype_id" in q:
            t = _int(q["requesttype_id"])
            if t is not None:
                types = {t}
        if q.get("requesttype"):
            t2 = set(_csv_ints(q["requesttype"]))
            if t2:
                types = t2 if types is None else (types & t2)
        if types is not None:
            f["types"] = sorted(types)
        statuses = None
        if q.get("status_id"):
            s = _int(q["status_id"])
            if s is not None:
                statuses = {s}
        if q.get("status"):
            s2 = set(_csv_ints(q["status"]))
            if s2:
                statuses = s2 if statuses is None else statuses & s2
        if statuses is not None:
            f["status_ids"] = sorted(statuses)
        ids = None
        if q.get("ticketids"):
            ids = set(_csv_ints(q["ticketids"]))
        if q.get("search_id"):
            s = _int(q["search_id"])
            if s is not None:
                ids = {s} if ids is None else ids & {s}
        if ids is not None:
            f["ids"] = sorted(ids)
        if _b(q.get("open_only", "")):
            f["open_only"] = True
        if _b(q.get("closed_only", "")):
            f["closed_only"] = True
        if _b(q.get("deleted", "")):
            f["deleted"] = True
        lf, lt = self._date(q, "lastupdatefromdate"), self._date(q, "lastupdatetodate")
        if lf is not None:
            f["lu_from"], f["lu_from_op"] = lf, self.lastupdate_from_op
        if lt is not None:
            f["lu_to"], f["lu_to_op"] = lt, self.lastupdate_to_op
        ds = (q.get("datesearch") or "").strip().lower()
        field = {"dateoccured": "occ", "dateoccurred": "occ", "datecleared": "closed", "dateclosed": "closed"}.get(ds)
        if field:
            f["ds_field"] = field
            f["ds_start"], f["ds_end"] = self._date(q, "startdate"), self._date(q, "enddate")
        order = []
        for suffix in ("", "2", "3", "4", "5"):
            name = (q.get("order" + suffix) or "").strip().lower()
            col = TicketStore.ORDER_FIELDS.get(name)
            if col:
                order.append((col, _b(q.get("orderdesc" + suffix, ""))))
        f["order"] = tuple(order) if order else DEFAULT_ORDERS[self.default_order]
        return f

    def _tickets(self, q) -> Resp:
        st = self.store
        f = self._ticket_filter(q)
        cf = None
        if "include_custom_fields" in q and q["include_custom_fields"].strip() not in ("", "false", "0") and not (
                self.ignore_include_custom_fields):  # Q18
            cf = tuple(dict.fromkeys(i for i in _csv_ints(q["include_custom_fields"]) if i in CUSTOM_FIELD_BY_ID))
        with st.lock:
            idx = st.query(f)
            total = len(idx)
            head = b"{"
            if _b(q.get("pageinate", "")):
                sel, size, no = self._page_of(idx, q)
                head = self._page_head(q, size, no)
            else:
                cnt = _int(q.get("count", ""))
                if cnt is not None and cnt > 0:
                    sel = idx[:cnt]
                elif self.unpaged_limit:
                    sel = idx[: self.unpaged_limit]
                else:
                    sel = idx
            rows = [st.ticket_bytes(int(j), cf) for j in sel]
        return Resp(200, self._list_parts(head, total, b"tickets", rows, b',"include_children":false'))

    # ------------------------------------------------------------------ GET /api/Actions (Q26, Q36-Q41)
    def _actions(self, q, rest) -> Resp:
        st = self.store
        tid = _int(q.get("ticket_id", "")) if (q.get("ticket_id") or "").strip() else None
        if tid is not None and tid <= 0:
            tid = None
        if rest:  # Q41: one action, by ticket_id and id
            aid = _int(rest[0])
            p = st.action_position(tid, aid) if tid is not None and aid is not None and len(rest) == 1 else None
            if p is None:
                return Resp(404)
            with st.lock:
                return Resp(200, st.action_bytes(p, True, _b(q.get("includeemail", ""))))
        start, end = self._date(q, "startdate"), self._date(q, "enddate")  # Q37; datesearch is ignored
        nothing = {"record_count": 0, "actions": []}
        if tid is None:
            if start is None or end is None:  # Q37: neither a ticket nor a whole range - nothing
                return self._listed(jresp(nothing), "actions")
            if self.actions_range == "refuse":  # Q38
                return jresp(quirks.dotnet_error("Please specify a ticket_id.", "System.ArgumentException"), 400)
            if self.actions_range == "empty":
                return self._listed(jresp(nothing), "actions")
            days = self.actions_max_range_days
            if days and end - start > days * 86_400_000_000:
                return jresp(quirks.dotnet_error(f"Date range can be {days} day{'s' if days != 1 else ''} at most.",
                                                 "System.ArgumentException"), 400)
        order = (q.get("order") or "").strip().lower()
        f = {"ticket": tid - 1 if tid is not None else None, "start": start, "end": end,
             "excludesys": _b(q.get("excludesys", "")), "excludeprivate": _b(q.get("excludeprivate", "")),
             "order": "datetime" if order == "datetime" else None, "desc": _b(q.get("orderdesc", ""))}
        html_note, html_email = _b(q.get("includehtmlnote", "")), _b(q.get("includehtmlemail", ""))
        with st.lock:
            idx = st.action_query(f)
            total = len(idx)
            head = b"{"
            if _b(q.get("pageinate", "")) and self.actions_paging == "paged":  # Q39
                sel, size, no = self._page_of(idx, q)
                head = self._page_head(q, size, no)
            else:
                cnt = _int(q.get("count", ""))
                sel = idx[:cnt] if cnt is not None and cnt > 0 else idx
            rows = [st.action_bytes(int(p), html_note, html_email) for p in sel]
        return self._listed(Resp(200, self._list_parts(head, total, b"actions", rows, b"")), "actions")

    # ------------------------------------------------------------------ control path (never logged)
    def _control(self, method, path_l, q, body) -> Resp:
        cmd = path_l[len("/_sim/"):]
        data = orjson.loads(body) if body.strip() else {}
        if cmd == "log" and method == "GET":
            with self._lock:
                return jresp(list(self.request_log))
        if cmd == "reset_log" and method == "POST":
            self.reset_log()
            return jresp({"ok": True})
        if cmd == "truth" and method == "GET":
            stream = q.get("stream") or "tickets"
            t = self.truth(stream, include_deleted=_b(q.get("include_deleted", "")))
            if TRUTH_STREAMS.get(stream.strip().lower()) == "actions":  # keys "ticket_id:id"
                t = {f"{k[0]}:{k[1]}": v for k, v in t.items()}
            return Resp(200, orjson.dumps(t, option=orjson.OPT_NON_STR_KEYS))
        if cmd == "config":
            if method == "POST":
                if not isinstance(data, dict):
                    raise ValueError("config body must be a JSON object")
                self.configure(**data)
            return jresp(self.config())
        if cmd == "mutate" and method == "POST":
            if not isinstance(data, dict):
                raise ValueError("mutate body must be a JSON object")
            unknown = set(data) - {"update", "create", "delete", "ids", "users", "clients", "sites", "actions_add",
                                   "actions_edit", "actions_delete"}
            if unknown:
                raise ValueError(f"unknown mutate keys {sorted(unknown)}")
            ids = self.mutate(**{k: (v if k == "ids" else int(v)) for k, v in data.items()})
            with self._lock:
                detail = {k: v for k, v in self.mutations[-1].items() if k != "time"}
            return jresp({"ids": ids, **detail})
        if cmd == "tokens" and method == "GET":
            with self._lock:
                return jresp(list(self.issued_tokens))
        if cmd == "invalidate_tokens" and method == "POST":
            self.invalidate_tokens()
            return jresp({"ok": True})
        if cmd == "health":
            return jresp({"ok": True, "tickets": self.store.count, "fault_kinds": FAULT_KINDS})
        return Resp(404)


__all__ = ["HaloSimulator", "SWITCHES", "fmt_ms"]
