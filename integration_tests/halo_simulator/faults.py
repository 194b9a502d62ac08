"""Fault injection and mutation schedules (see quirks.py Q27, Q28).

A fault spec is a dict (or the CLI string form ``KIND[:key=value]...``):

``kind``         one of FAULT_KINDS (below)
``on``           list of 1-based request numbers (counted per fault, over the
                 requests the fault applies to), e.g. ``on=3,7``
``every``        fire on every k-th matching request
``probability``  fire with probability p (seeded, deterministic); alias ``p``
``times``        stop after firing this many times
``path``         only requests whose path starts with this (case-insensitive;
                 default ``/api``)
``auth``         also apply to ``POST /auth/token`` (default false)
``seconds``      for ``delay``: how long to sleep before answering (default 2)

With no ``on``/``every``/``probability`` the fault fires on every matching
request (until ``times``). Every fault counts every request it applies to
(so ``on=3`` is the 3rd matching request whatever other faults do); when
several fire on one request the first in the list wins, except ``delay``,
which adds its sleep and lets the request (or another fault) proceed.

Mutation schedule specs (``--mutate-after`` / ``mutate_schedule``):
``{"after": k, "repeat": false, "update": m, "create": c, "delete": d,
"users": u, "clients": l, "sites": s, "actions_add": a, "actions_edit": e,
"actions_delete": x, "path": "/api/tickets"}``:
after the k-th list request to ``path`` has been answered (default: the ticket
list; e.g. ``/api/users`` counts GET /api/Users list requests, ``/api/actions``
GET /api/Actions list requests; case-insensitive)
- and, with ``repeat``, after every k-th - update / create / delete tickets,
move the last-update time of ``users`` / ``clients`` / ``sites`` random
reference rows to now, and add / edit / delete actions (quirks.py Q39 and
simulator-only behaviour). CLI form: ``K:update=M:users=U:path=/api/users``,
``K:actions_add=A:path=/api/actions``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

FAULT_KINDS = {
    "500": "HTTP 500 with a .NET exception body {ClassName, Message}",
    "502": "HTTP 502 Bad Gateway (HTML body, as a proxy would send)",
    "503": "HTTP 503 Service Unavailable",
    "504": "HTTP 504 Gateway Timeout",
    "429": "HTTP 429 with the Halo rate-limit body (independent of the real limiter)",
    "drop": "close the connection without any response",
    "delay": "sleep `seconds` before answering normally",
    "html": "HTTP 200 with an HTML page instead of JSON",
    "truncated": "HTTP 200 whose JSON body is cut in half (Content-Length matches the cut body)",
    "partial": "HTTP 200 announcing the full Content-Length, then closing mid-body",
}


def _options(head_key: str, text: str, what: str) -> dict:
    """`HEAD:key=value:key=value` (the command-line form of a fault or mutation rule) -> dict."""
    parts = text.split(":")
    d = {head_key: parts[0]}
    for p in parts[1:]:
        if "=" not in p:
            raise ValueError(f"{what} option {p!r} is not key=value")
        k, v = p.split("=", 1)
        d[k.strip()] = v.strip()
    return d


def _bool(v) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Fault:
    kind: str
    on: frozenset = frozenset()
    every: int = 0
    probability: float = 0.0
    times: int = 0
    path: str = "/api"
    auth: bool = False
    seconds: float = 2.0
    page: int = 0  # only requests asking for this page_no (0: any)
    seen: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    @classmethod
    def parse(cls, spec, seed: int = 0) -> "Fault":
        if isinstance(spec, Fault):
            return spec
        if isinstance(spec, str):
            spec = spec.strip()
            if spec.startswith("{"):
                import json

                spec = json.loads(spec)
            else:
                spec = _options("kind", spec, "fault")
        if not isinstance(spec, dict):
            raise ValueError(f"fault spec must be a dict or string, got {spec!r}")
        spec = dict(spec)
        kind = str(spec.pop("kind", "")).lower()
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        f = cls(kind=kind, rng=random.Random(f"fault:{seed}:{kind}"))
        for k, v in spec.items():
            if k == "on":
                vals = v if isinstance(v, (list, tuple, set, frozenset)) else str(v).replace("+", ",").split(",")
                f.on = frozenset(int(x) for x in vals if str(x).strip())
                if any(x < 1 for x in f.on):
                    raise ValueError("fault 'on' request numbers are 1-based")
            elif k == "every":
                f.every = int(v)
                if f.every < 1:
                    raise ValueError("fault 'every' must be >= 1")
            elif k in ("probability", "p"):
                f.probability = float(v)
                if not 0.0 <= f.probability <= 1.0:
                    raise ValueError("fault probability must be within [0, 1]")
            elif k == "times":
                f.times = int(v)
            elif k == "path":
                f.path = str(v).lower()
            elif k == "auth":
                f.auth = _bool(v)
            elif k == "page":
                f.page = int(v)
                if f.page < 0:
                    raise ValueError("fault page must be >= 1 (0: any page)")
            elif k == "seconds":
                f.seconds = float(v)
                if f.seconds < 0:
                    raise ValueError("fault seconds must be >= 0")
            else:
                raise ValueError(f"unknown fault option {k!r}")
        return f

    def applies(self, path_l: str, is_auth: bool, params: "dict | None" = None) -> bool:
        if self.page and str((params or {}).get("page_no", "")) != str(self.page):
            return False
        if is_auth:
            return self.auth and (self.path in ("/api", "") or path_l.startswith(self.path))
        return path_l.startswith(self.path)

    def check(self, count_fire: bool = True) -> bool:
        """Count one matching request; return True if the fault fires on it."""
        self.seen += 1
        if self.times and self.fired >= self.times:
            return False
        if self.on or self.every or self.probability:
            fire = (self.seen in self.on) or (self.every and self.seen % self.every == 0) or (
                self.probability and self.rng.random() < self.probability)
        else:
            fire = True
        if fire and count_fire:
            self.fired += 1
        return bool(fire)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "on": sorted(self.on), "every": self.every, "probability": self.probability,
                "times": self.times, "path": self.path, "auth": self.auth, "seconds": self.seconds, "page": self.page,
                "seen": self.seen, "fired": self.fired}


@dataclass
class MutationRule:
    after: int
    repeat: bool = False
    update: int = 0
    create: int = 0
    delete: int = 0
    users: int = 0
    clients: int = 0
    sites: int = 0
    actions_add: int = 0
    actions_edit: int = 0
    actions_delete: int = 0
    path: str = "/api/tickets"
    done: int = 0

    @classmethod
    def parse(cls, spec) -> "MutationRule":
        if isinstance(spec, MutationRule):
            return spec
        if isinstance(spec, str):
            spec = _options("after", spec.strip(), "mutation")
        if not isinstance(spec, dict):
            raise ValueError(f"mutation spec must be a dict or string, got {spec!r}")
        spec = dict(spec)
        unknown = set(spec) - {"after", "every", "repeat", "update", "create", "delete", "users", "clients", "sites",
                               "actions_add", "actions_edit", "actions_delete", "path"}
        if unknown:
            raise ValueError(f"unknown mutation option(s) {sorted(unknown)}")
        if "every" in spec:
            spec["after"] = spec.pop("every")
            spec["repeat"] = True
        path = "/" + str(spec.get("path", "/api/tickets")).strip().strip("/").lower()
        if not path.startswith("/api/"):
            raise ValueError("mutation 'path' must be an /api/<list> path, e.g. /api/users")
        r = cls(after=int(spec["after"]), repeat=_bool(spec.get("repeat", False)), update=int(spec.get("update", 0)),
                create=int(spec.get("create", 0)), delete=int(spec.get("delete", 0)), users=int(spec.get("users", 0)),
                clients=int(spec.get("clients", 0)), sites=int(spec.get("sites", 0)),
                actions_add=int(spec.get("actions_add", 0)), actions_edit=int(spec.get("actions_edit", 0)),
                actions_delete=int(spec.get("actions_delete", 0)), path=path)
        if r.after < 1 or min(r.update, r.create, r.delete, r.users, r.clients, r.sites, r.actions_add,
                              r.actions_edit, r.actions_delete) < 0:
            raise ValueError("mutation 'after' must be >= 1 and counts >= 0")
        return r

    def due(self, page_requests: int) -> bool:
        if self.repeat:
            return page_requests % self.after == 0
        if self.done == 0 and page_requests == self.after:
            return True
        return False

    def to_dict(self) -> dict:
        return {"after": self.after, "repeat": self.repeat, "update": self.update, "create": self.create,
                "delete": self.delete, "users": self.users, "clients": self.clients, "sites": self.sites,
                "actions_add": self.actions_add, "actions_edit": self.actions_edit,
                "actions_delete": self.actions_delete, "path": self.path, "done": self.done}
