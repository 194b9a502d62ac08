"""Deterministic Halo data: a compact numpy index of tickets plus lazy rendering.

Only what changes or is filtered on lives in the index (id, dateoccurred,
last_update, dateclosed as int milliseconds, ticket type, status, deleted).
Everything else in a ticket is rendered on demand from ``(seed, id)`` and the
rendered JSON bytes are kept in a bounded cache, so N = 1,000,000 tickets cost
roughly 40 MB of index. The reference lists (``RefData``) are small and kept
as rows. Quirks reproduced here are described in ``quirks.py`` (Q20-Q26,
Q29-Q35).
"""
from __future__ import annotations

import collections
import datetime as _dt
import random
import threading
import time
import uuid
from typing import Iterable

import numpy as np
import orjson

from .quirks import NO_DATE_0001, NO_DATE_1899, NO_DATE_1900

EPOCH = _dt.datetime(1970, 1, 1)
DAY_MS = 86_400_000
NONE_MS = -(2**62)  # "no date" in the index

TICKET_TYPES = [  # id, name, reference prefix, itil type, weight - the active types new tickets get
    (1, "Incident", "IN", 1, 0.50),
    (2, "Service Request", "SR", 3, 0.30),
    (3, "Problem", "PR", 2, 0.08),
    (4, "Change", "CH", 4, 0.12),
]
# Q31: a retired ticket type (``active: false``); some of the oldest tickets still carry it.
RETIRED_TICKET_TYPES = [(5, "Legacy Request", "LR", 3, 0.0)]
ALL_TICKET_TYPES = TICKET_TYPES + RETIRED_TICKET_TYPES
RETIRED_TYPE_IDS = {t[0] for t in RETIRED_TICKET_TYPES}
TYPE_NAMES = {t[0]: t[1] for t in ALL_TICKET_TYPES}
TYPE_PREFIX = {t[0]: t[2] for t in ALL_TICKET_TYPES}
TYPE_ITIL = {t[0]: t[3] for t in ALL_TICKET_TYPES}

STATUSES = [  # id, name, shortname, type, closed?, onhold?
    (1, "New", "NEW", 0, False, False),
    (2, "In Progress", "INP", 0, False, False),
    (3, "Action Required", "ACT", 0, False, False),
    (4, "Awaiting User", "AWU", 1, False, True),
    (5, "With Supplier", "SUP", 1, False, True),
    (8, "Resolved", "RES", 0, False, False),
    (9, "Closed", "CLO", 2, True, False),
    (10, "Cancelled", "CAN", 2, True, False),
]
STATUS_NAMES = {s[0]: s[1] for s in STATUSES}
OPEN_STATUS_IDS = [s[0] for s in STATUSES if not s[4]]
CLOSED_STATUS_IDS = [s[0] for s in STATUSES if s[4]]
ONHOLD_STATUS_IDS = {s[0] for s in STATUSES if s[5]}

TEAMS = [(1, "1st Line Support"), (2, "2nd Line Support"), (3, "Service Desk"),
         (4, "Network & Infrastructure"), (5, "Change Advisory Board"), (6, "Problem Management")]
INACTIVE_TEAM_IDS = {6}  # Q31: disbanded, but tickets still carry it
PRIORITIES = [(1, "Critical", 4, "H"), (2, "High", 8, "H"), (3, "Medium", 3, "D"), (4, "Low", 5, "D")]
SLAS = [(1, "Incident SLA"), (2, "Service Request SLA")]

FIRST = ["Alice", "Bob", "Chloé", "Dmitri", "Eva", "François", "Grace", "Hiroshi", "Ingrid", "José",
         "Kemal", "Łukasz", "Mei", "Nadia", "Oluwaseun", "Priya", "Quentin", "Rosa", "Søren", "Tomás",
         "Umar", "Vera", "Wei", "Xavier", "Yasmin", "Zoë"]
LAST = ["Smith", "Jones", "Müller", "García", "Nakamura", "O'Brien", "Kowalski", "Nguyen", "Okafor",
        "Rossi", "Dubois", "Andersson", "Patel", "Ivanova", "Schmidt", "Kim", "Silva", "Novák"]
ORGS = ["Acme Corp", "Globex Ltd", "Initech", "Umbrella Health", "Stark Industries", "Wayne Enterprises",
        "Société Générale de Test", "Ñandú Logística", "株式会社テスト", "Grüner Strom GmbH",
        "Northwind Traders", "Contoso Pharma", "Tyrell Systems", "Cyberdyne", "Hooli", "Vandelay Imports",
        "Dunder Mifflin", "Oceanic Air", "Soylent Foods", "Massive Dynamic", "Aperture Labs",
        "Blue Sun", "Gringotts Bank", "Monarch Solutions", "Pied Piper"]
CITIES = ["London", "Manchester", "Zürich", "München", "Kraków", "São Paulo", "Dublin", "Leeds", "Oslo",
          "Tokyo", "Lagos", "Austin"]
CATEGORIES = ["Hardware", "Software", "Network", "Access", "Email", "Printing", "Telephony", "Security"]
SUBCATS = ["Laptop", "Desktop", "VPN", "Wi-Fi", "Outlook", "Teams", "Password reset", "MFA", "Licence",
           "Printer jam", "Mobile", "Firewall"]
SERVICES = ["Email service", "ERP", "Intranet", "Payroll", "CRM", "File shares"]
ROOT_CAUSES = ["Hardware failure", "Configuration change", "User error", "Third-party outage"]
# Q33: GET /api/Category rows. Category type N (``type_id``) holds the values of a ticket's
# ``category_N``; a ticket's ``categoryid_N`` is the id of the row with that type and value.
CATEGORY_TYPES = [  # type_id, first id, values
    (1, 1, CATEGORIES),
    (2, 101, SUBCATS),
    (3, 201, SERVICES),
    (4, 301, ROOT_CAUSES),
]
CATEGORY_ID = {(t, v): first + i for t, first, values in CATEGORY_TYPES for i, v in enumerate(values)}

OUTCOMES = [  # id, outcome, button name, long label, hidden, icon - Q34 (TOutcome)
    (1, "Note", "Add Note", "Add a private or public note", False, "fa-sticky-note"),
    (2, "Email User", "Email User", "Send an email to the end-user", False, "fa-envelope"),
    (3, "Phone Call", "Log Call", "Log a phone call", False, "fa-phone"),
    (4, "Escalate", "Escalate", "Escalate to the next team", False, "fa-level-up"),
    (5, "Resolve", "Resolve", "Resolve the ticket", False, "fa-check"),
    (6, "Close", "Close", "Close the ticket", False, "fa-times"),
    (7, "Fax User", "Fax", "Send a fax (retired)", True, "fa-fax"),
    (8, "Legacy Survey", "Survey", "Send the old satisfaction survey", True, "fa-star"),
]
SUMMARY_TEMPLATES = [
    "{cat} issue: {sub} not working",
    "Cannot access {sub} since this morning",
    "Request: new {sub} for {first}",
    "URGENT – {sub} down for the whole {city} office",
    "{sub} slow again 😩",
    "Problème avec {sub} (bureau de {city})",
    "Störung: {sub} funktioniert nicht",
    "{sub} の不具合について",
    "Change: upgrade {sub} firmware",
    "Password reset for {first} {last}",
    "مشكلة في {sub}",
    "Re: [{prefix}-{id}] {sub} – follow-up",
]
WORDS = ("the user reports that when opening the application it hangs and then shows an error "
         "message about a timeout after restarting the laptop the problem persists we tried clearing "
         "the cache reinstalling the client and checking the network connection nothing helped please "
         "escalate to second line if needed the issue affects several colleagues in the office since "
         "yesterday afternoon café naïve résumé größe straße ½ € £ — “quoted” text").split()

CUSTOM_FIELDS = [  # id, name, label, type, inputtype, per-mille of tickets with a value (Q35)
    (165, "CFimpact", "Impact", 2, 0, 850),
    (166, "CFcostCentre", "Cost centre", 0, 0, 700),
    (167, "CFdueDate", "Due date", 4, 0, 450),
    (168, "CFcallbackNumber", "Callback number", 0, 0, 500),
    (169, "CFinternalNotes", "Internal notes", 1, 0, 350),
    (170, "CFvip", "VIP caller", 6, 0, 900),
    (171, "CFaffectedUsers", "Affected users", 0, 1, 600),
    (172, "CFhoursLost", "Hours lost", 0, 4, 400),
]
CUSTOM_FIELD_BY_ID = {cf[0]: cf for cf in CUSTOM_FIELDS}
IMPACT_VALUES = [(1, "Whole Organisation"), (2, "Multiple Users"), (3, "Single User Affected")]
CF_TEXT, CF_MEMO, CF_SELECT, CF_DATE, CF_CHECKBOX = 0, 1, 2, 4, 6  # Halo's type codes (Q35)
CF_INPUT_INTEGER, CF_INPUT_DECIMAL = 1, 4  # inputtype of a number-only text field (Q35, INFERRED)
BLANK_CF_PERMILLE = 70  # tickets with no custom field value at all


def ms_now() -> int:
    return sql_round(int(time.time() * 1000))


def sql_round(ms):
    """Round to SQL Server ``datetime`` ticks (1/300 s) - Q21."""
    if isinstance(ms, np.ndarray):
        return np.round(np.round(ms * 0.3) / 0.3).astype(np.int64)
    return int(round(round(ms * 0.3) / 0.3))


_DAY_STR: dict = {}
_FRAC = [""] + [("." + f"{f:03d}").rstrip("0") for f in range(1, 1000)]
_TOD = ["T%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60) for s in range(86400)]


def fmt_ms(ms: int) -> str:
    """Naive UTC, fraction only when non-zero, trailing zeros trimmed (Q21)."""
    if ms == NONE_MS:
        return NO_DATE_1900
    sec, frac = divmod(int(ms), 1000)
    day, rem = divmod(sec, 86400)
    d = _DAY_STR.get(day)
    if d is None:
        d = _DAY_STR[day] = (_dt.date(1970, 1, 1) + _dt.timedelta(days=day)).isoformat()
    return d + _TOD[rem] + _FRAC[frac]


def parse_dt_us(value: str) -> int:
    """Parse a Halo date parameter (Q17) to integer microseconds since epoch (UTC)."""
    v = value.strip()
    if not v:
        raise ValueError("empty date")
    if v.endswith(("Z", "z")):
        v = v[:-1]
    offset = None
    if len(v) > 10 and v[-6] in "+-" and v[-3] == ":":
        sign = 1 if v[-6] == "+" else -1
        offset = sign * (int(v[-5:-3]) * 60 + int(v[-2:]))
        v = v[:-6]
    v = v.replace(" ", "T")
    if "T" in v:
        date_part, time_part = v.split("T", 1)
    else:
        date_part, time_part = v, "00:00:00"
    frac_us = 0
    if "." in time_part:
        time_part, frac = time_part.split(".", 1)
        if not frac.isdigit():
            raise ValueError(value)
        frac_us = int((frac + "000000")[:6])
    if time_part.count(":") == 1:
        time_part += ":00"
    d = _dt.datetime.strptime(f"{date_part}T{time_part}", "%Y-%m-%dT%H:%M:%S")
    us = int((d - EPOCH).total_seconds()) * 1_000_000 + frac_us
    if offset:
        us -= offset * 60_000_000
    return us


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _phone(rng: random.Random) -> str:
    return rng.choice(["+44 20 7946 0{:03d}", "07700 900{:03d}", "+1 (555) 01{:02d}-0199",
                       "+49 30 901820{:02d}"]).format(rng.randrange(100) if rng.random() < .3 else rng.randrange(1000) % 100)


class RefData:
    """Reference tables (agents, teams, clients, sites, users, categories ...), consistent with the
    tickets: every id a ticket carries is a row here (Q29-Q35).

    The rows are built once, as Halo serves them, and kept (``rows``); a mutation rebuilds the rows
    it touches. Clients, sites and users keep their last-update time in milliseconds (``lu``) next to
    the rows, for the ``lastupdatefromdate``/``lastupdatetodate`` filters (Q32)."""

    MUTABLE = ("clients", "sites", "users")

    def __init__(self, seed: int, end_ms: int):
        rng = random.Random(f"ref:{seed}")
        self.end_ms = end_ms
        self.lock = threading.RLock()
        self.teams = TEAMS
        self.agents = [(1, "Unassigned", "", 0)]
        for i in range(2, 26):
            f, l = rng.choice(FIRST), rng.choice(LAST)
            self.agents.append((i, f"{f} {l}", f"{f}.{l}".lower().replace("'", "") + "@halo-demo.example.com",
                                rng.choice(TEAMS)[0]))
        self.clients = [(1, "Unassigned")]  # client 1 = none (django-psa, docs/halo-api.md 2.5)
        for i, org in enumerate(ORGS, start=2):
            self.clients.append((i, org))
        self.sites = []  # id, name, client_id
        sid = 1
        for cid, cname in self.clients:
            for _ in range(1 if cid == 1 else rng.randint(1, 3)):
                self.sites.append((sid, f"{rng.choice(CITIES)} Office" if cid != 1 else "Main", cid))
                sid += 1
        self.site_by_id = {s[0]: s for s in self.sites}
        self.client_by_id = dict(self.clients)
        self.users = []  # id, first, last, site_id, email, phone, datecreated_ms
        uid = 1
        for s in self.sites:
            for _ in range(rng.randint(3, 12)):
                f, l = rng.choice(FIRST), rng.choice(LAST)
                dom = "".join(ch for ch in self.client_by_id[s[2]].lower() if ch.isascii() and ch.isalnum())[:12] or "example"
                email = f"{f}.{l}{uid}".lower().replace("'", "") + f"@{dom}.example.com"
                self.users.append((uid, f, l, s[0], email, _phone(rng),
                                   sql_round(end_ms - rng.randrange(400, 2000) * DAY_MS + rng.randrange(DAY_MS))))
                uid += 1
        self.user_by_id = {u[0]: u for u in self.users}
        self.priority_guids = {p[0]: _guid(rng) for p in PRIORITIES}
        self.status_guids = {s[0]: _guid(rng) for s in STATUSES}
        self.type_guids = {t[0]: _guid(rng) for t in TICKET_TYPES}
        # --- below: its own random streams, so the data above (and every ticket) stays as it was
        rng2 = random.Random(f"ref-inactive:{seed}")
        for t in RETIRED_TICKET_TYPES:
            self.type_guids[t[0]] = _guid(rng2)
        self.disabled_agents = set(rng2.sample(range(2, len(self.agents) + 1), 3))  # Q31: agents who left
        closed = set(rng2.sample(range(2, len(self.clients) + 1), 3))  # Q31: closed clients
        self.inactive = {"clients": {c for c in closed}}
        sites_of: dict = {}
        for s in self.sites:
            sites_of.setdefault(s[2], []).append(s[0])
        self.inactive["sites"] = {s[0] for s in self.sites if s[2] in closed or (
            len(sites_of[s[2]]) > 1 and rng2.random() < 0.12)}
        self.inactive["users"] = {u[0] for u in self.users if self.site_by_id[u[3]][2] in closed or rng2.random() < 0.08}
        self.category_guids = {cid: _guid(rng2) for cid in sorted(CATEGORY_ID.values())}
        self.outcome_guids = {o[0]: _guid(rng2) for o in OUTCOMES}
        # a Priority (swagger Policy) row per SLA and priority, each with its own GUID ``id`` (Q25)
        self.policy_guids = {(sl[0], p[0]): self.priority_guids[p[0]] if sl[0] == SLAS[0][0] else _guid(rng2)
                             for sl in SLAS for p in PRIORITIES}
        # Q32: last-update times on SQL ticks, some on whole seconds, some shared by a bulk change
        rng3 = random.Random(f"ref-lu:{seed}")
        last = end_ms - 1000

        def between(lo: int, hi: int) -> int:
            ms = sql_round(lo + int(rng3.random() * max(0, hi - lo)))
            return (ms // 1000) * 1000 if rng3.random() < 0.2 else ms

        self.client_created = {c[0]: sql_round(end_ms - (900 + c[0]) * DAY_MS) for c in self.clients}
        bulk = sql_round(end_ms - rng3.randrange(5, 60) * DAY_MS - rng3.randrange(DAY_MS))  # e.g. an AD sync
        self.lu = {
            "clients": {c[0]: between(self.client_created[c[0]], last) for c in self.clients},
            "sites": {s[0]: between(self.client_created[s[2]], last) for s in self.sites},
            "users": {u[0]: (bulk if rng3.random() < 0.1 and bulk > u[6] else between(u[6], last)) for u in self.users},
        }
        self._mut_rng = random.Random(f"ref-mut:{seed}")
        self.rows = {
            "clients": [self._client_row(c) for c in self.clients],
            "sites": [self._site_row(s) for s in self.sites],
            "users": [self._user_row(u) for u in self.users],
        }
        self._index = {k: {r["id"]: i for i, r in enumerate(v)} for k, v in self.rows.items()}

    # --- rows (Q23, Q25, Q29-Q34) ----------------------------------------
    def _client_row(self, c) -> dict:
        return {"id": c[0], "name": c[1], "toplevel_id": 1, "toplevel_name": "Default",
                "inactive": c[0] in self.inactive["clients"], "colour": "#2bd3c6", "customfields": [],
                "datecreated": fmt_ms(self.end_ms - (900 + c[0]) * DAY_MS),
                "alastupdate": fmt_ms(self.lu["clients"][c[0]])}

    def _site_row(self, s) -> dict:
        return {"id": s[0], "name": s[1], "client_id": float(s[2]), "client_name": self.client_by_id[s[2]],
                "clientsite_name": f"{self.client_by_id[s[2]]}/{s[1]}", "inactive": s[0] in self.inactive["sites"],
                "sla_id": 1, "phonenumber": "", "colour": "#2bd3c6", "timezone": "",
                "delivery_address_line1": f"{s[0]} High Street", "delivery_address_line2": s[1].replace(" Office", ""),
                "delivery_address_line3": "", "delivery_address_line4": "", "delivery_address_line5": "",
                "slastupdate": fmt_ms(self.lu["sites"][s[0]])}

    def _user_row(self, u) -> dict:
        s = self.site_by_id[u[3]]
        return {"id": u[0], "name": f"{u[1]} {u[2]}", "site_id": float(u[3]), "site_id_int": u[3],
                "site_name": s[1], "client_name": self.client_by_id[s[2]], "client_id": s[2], "firstname": u[1],
                "surname": u[2], "initials": (u[1][:1] + u[2][:1]).upper(), "emailaddress": u[4], "phonenumber": u[5],
                "sitephonenumber": "", "inactive": u[0] in self.inactive["users"], "colour": "#2bd3c6",
                "isimportantcontact": False, "linked_agent_id": 0, "customfields": [], "isserviceaccount": False,
                "datecreated": fmt_ms(u[6]), "ulastupdate": fmt_ms(self.lu["users"][u[0]])}

    def snapshot(self, name: str):
        """(rows, last-update ms per row) of a mutable list, consistent with each other."""
        with self.lock:
            lu = self.lu[name]
            rows = list(self.rows[name])
            return rows, [lu[r["id"]] for r in rows]

    def mutate(self, now_ms: int, **counts) -> dict:
        """Move the last-update time of ``counts[name]`` random rows of clients / sites / users
        to ``now_ms``; one in five also flips ``inactive``. Returns the ids per list."""
        out = {}
        with self.lock:
            rng = self._mut_rng
            for name in self.MUTABLE:
                k = int(counts.get(name) or 0)
                if k < 0:
                    raise ValueError(f"{name} must be >= 0")
                ids = sorted(rng.sample(sorted(self.lu[name]), min(k, len(self.lu[name])))) if k else []
                rows = list(self.rows[name])
                for i in ids:
                    self.lu[name][i] = now_ms
                    if rng.random() < 0.2:
                        self.inactive[name] ^= {i}
                    j = self._index[name][i]
                    src = {"clients": self.clients, "sites": self.sites, "users": self.users}[name][j]
                    rows[j] = {"clients": self._client_row, "sites": self._site_row, "users": self._user_row}[name](src)
                self.rows[name] = rows
                out[name] = ids
        return out

    def ticket_types(self, counts=None):
        return [{"id": t[0], "guid": self.type_guids[t[0]], "name": t[1], "use": "tickets", "sequence": i + 1,
                 "default_sla": 1 if t[0] == 1 else 2, "group_id": 0, "group_name": "", "ticket_count": (counts or {}).get(t[0], 0),
                 "cancreate": t[0] not in RETIRED_TYPE_IDS, "agentscanselect": t[0] not in RETIRED_TYPE_IDS,
                 "enduserscanselect": t[0] in (1, 2),
                 "itilrequesttype": t[3], "allowattachments": True, "email_start_tag": f"[{t[2]}-",
                 "email_end_tag": "]", "default_priority": 3, "active": t[0] not in RETIRED_TYPE_IDS,
                 "description": f"{t[1]} tickets"}
                for i, t in enumerate(ALL_TICKET_TYPES)]

    def statuses(self):
        return [{"id": s[0], "guid": self.status_guids[s[0]], "name": s[1], "shortname": s[2], "type": s[3],
                 "sequence": i + 1, "colour": "#%06x" % (0x2bd3c6 * (i + 1) % 0xFFFFFF),
                 "slaaction": "hold" if s[5] else "none", "ticket_count": 0, "showonquickchange": True}
                for i, s in enumerate(STATUSES)]

    def teams_payload(self):
        return [{"id": t[0], "guid": str(uuid.UUID(int=t[0] + 1000)), "name": t[1], "sequence": t[0], "forrequests": True,
                 "ticket_count": 0, "department_id": 1 + t[0] % 2, "department_name": ["IT", "Operations"][t[0] % 2],
                 "inactive": t[0] in INACTIVE_TEAM_IDS,
                 "agents": [{"id": a[0], "name": a[1]} for a in self.agents if a[3] == t[0]],
                 "last_modified": fmt_ms(self.end_ms - t[0] * 37 * DAY_MS), "use": "tickets"} for t in TEAMS]

    def agents_payload(self):
        out = []
        for a in self.agents:
            first, _, last = a[1].partition(" ")
            team = dict(TEAMS).get(a[3], "")
            out.append({"id": a[0], "name": a[1], "email": a[2], "initials": (first[:1] + last[:1]).upper(),
                        "firstname": first if a[0] != 1 else "", "surname": last,
                        "isdisabled": a[0] in self.disabled_agents,
                        "colour": "#2bd3c6", "team": team, "teams": [{"id": a[3], "name": team}] if a[3] else [],
                        "is_agent": True, "use": "agent", "lastlogindate": fmt_ms(self.end_ms - a[0] * 3_600_000)})
        return out

    def clients_payload(self):
        return self.snapshot("clients")[0]

    def sites_payload(self):
        return self.snapshot("sites")[0]

    def users_payload(self):
        return self.snapshot("users")[0]

    def priorities_payload(self):
        return [{"id": self.policy_guids[(sl[0], p[0])], "slaid": sl[0], "priorityid": p[0], "name": p[1], "fixtime": float(p[2]),
                 "fixunits": p[3], "responsetime": 1.0, "responseunits": "H", "colour": "#ff0000", "ishidden": False}
                for sl in SLAS for p in PRIORITIES]

    def slas_payload(self):
        return [{"id": s[0], "name": s[1], "workdays_id": 1, "isdisabled": False, "trackslaresponsetime": True,
                 "trackslafixbytime": True} for s in SLAS]

    def categories_payload(self):
        """Q33: CategoryDetail rows, one per value of each of the four category types."""
        out = []
        for type_id, first, values in CATEGORY_TYPES:
            for i, v in enumerate(values):
                cid = first + i
                out.append({"id": cid, "guid": self.category_guids[cid], "value": v, "category_name": v,
                            "type_id": type_id, "sla_id": 0, "priority_id": 0, "chargerate": 0,
                            "category_group_id": 0, "include_note": False, "note": "", "user_note": "",
                            "itilrequesttype": 0, "is_integration": False})
        return out

    def outcomes_payload(self):
        """Q34: TOutcome rows; two are hidden."""
        return [{"id": o[0], "guid": self.outcome_guids[o[0]], "outcome": o[1], "buttonname": o[2], "labellong": o[3],
                 "colour": "#2bd3c6", "sequence": o[0], "hidden": o[4], "systemid": 0, "icon": o[5],
                 "hidefromuser": o[0] != 2, "slaholdischecked": False, "slareleaseischecked": False,
                 "newstatus": 8 if o[1] == "Resolve" else 9 if o[1] == "Close" else 0, "defaultmanhrs": 0.0}
                for o in OUTCOMES]

    def fieldinfo_payload(self):
        out = []
        for cf in CUSTOM_FIELDS:
            d = {"id": cf[0], "name": cf[1], "label": cf[2], "type": cf[3], "typeinfo": "ticket", "typeid": 1,
                 "usage": 1, "searchable": False, "characterlimit": 0, "inputtype": cf[4], "isencrypted": False}
            if cf[3] == CF_SELECT:
                d["values"] = [{"id": v, "name": n} for v, n in IMPACT_VALUES]
            out.append(d)
        return out

    # --- ground truth (simulator-only, quirks.py) ------------------------------
    def truth(self, stream: str) -> dict:
        """{id: row as served, inactive rows included}; priorities {priorityid: {slaid: row}}."""
        if stream == "priorities":
            out: dict = {}
            for p in self.priorities_payload():
                out.setdefault(p["priorityid"], {})[p["slaid"]] = p
            return out
        rows = {"agents": self.agents_payload, "teams": self.teams_payload, "statuses": self.statuses,
                "ticket_types": self.ticket_types, "slas": self.slas_payload, "clients": self.clients_payload,
                "sites": self.sites_payload, "users": self.users_payload, "categories": self.categories_payload,
                "outcomes": self.outcomes_payload, "custom_fields": self.fieldinfo_payload}[stream]()
        return {r["id"]: r for r in rows}


class TicketStore:
    """Compact index of tickets + lazy deterministic rendering + query engine."""

    def __init__(self, n: int, seed: int = 42, span_days: float = 730.0, end_ms: int | None = None,
                 cache_size: int = 20000):
        self.seed = seed
        self.end_ms = sql_round(end_ms if end_ms is not None else int(time.time()) * 1000)
        self.span_ms = int(span_days * DAY_MS)
        self.ref = RefData(seed, self.end_ms)
        self.lock = threading.RLock()
        self.version = 0
        self.cache_size = cache_size
        self._cache: collections.OrderedDict = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self._qcache: dict = {}
        self._variants: dict = {}
        self._cf_keys: set = {0}  # custom-field selections seen in the JSON cache's keys
        self._mut_rng = random.Random(f"mut:{seed}")
        self._build(n)

    # --- index ----------------------------------------------------------
    def _build(self, n: int) -> None:
        g = np.random.default_rng(self.seed)
        start = self.end_ms - self.span_ms
        occ = np.sort(g.integers(start, self.end_ms - 60_000, size=n, dtype=np.int64)) if n else np.zeros(0, np.int64)
        occ = sql_round(occ)
        # last_update: dateoccurred + a heavy-tailed delay, never after end
        delay = (g.exponential(scale=12.0, size=n) * DAY_MS).astype(np.int64)
        lu = occ + delay + g.integers(1000, 600_000, size=n)
        late = lu >= self.end_ms - 1000
        lu[late] = occ[late] + ((self.end_ms - 1000 - occ[late]) * g.random(int(late.sum()))).astype(np.int64)
        lu = np.maximum(lu, occ)
        # clusters: many tickets sharing one second (bulk updates / imports)
        n_clusters = max(1, n // 600) if n >= 50 else 0
        for _ in range(n_clusters):
            t = int(g.integers(start + self.span_ms // 10, self.end_ms - 1000))
            k = int(np.searchsorted(occ, t))
            if k < 2:
                continue
            size = int(min(k, g.integers(2, 300)))
            members = g.choice(k, size=size, replace=False)
            sec = (t // 1000) * 1000
            if g.random() < 0.5:
                lu[members] = sec + int(g.integers(0, 300)) * 10 // 3  # identical to the ms
            else:
                lu[members] = sec + (g.integers(0, 300, size=size) * 10 // 3)
            lu[members] = np.maximum(lu[members], occ[members])
        lu = sql_round(lu)
        # some tickets land exactly on a whole second (no fraction, Q21)
        whole = g.random(n) < 0.15
        lu[whole] = np.maximum((lu[whole] // 1000) * 1000, occ[whole])
        # ~10% imported / back-dated tickets: dateoccurred is not monotonic in id,
        # so "order by dateoccurred" differs from "order by id" (Q13)
        back = g.random(n) < 0.10
        occ[back] = sql_round(start + ((occ[back] - start) * g.random(int(back.sum()))).astype(np.int64))
        weights = np.array([t[4] for t in TICKET_TYPES])
        ttype = g.choice(np.array([t[0] for t in TICKET_TYPES], dtype=np.int8), size=n, p=weights / weights.sum())
        age = (self.end_ms - occ) / DAY_MS
        closed_mask = g.random(n) < np.clip(0.2 + age / 60.0, 0, 0.97)
        closed = np.where(closed_mask, lu, NONE_MS).astype(np.int64)
        status = np.where(closed_mask, g.choice(np.array(CLOSED_STATUS_IDS, np.int16), size=n, p=[0.9, 0.1]),
                          g.choice(np.array(OPEN_STATUS_IDS, np.int16), size=n)).astype(np.int16)
        deleted = g.random(n) < 0.01
        # Q31: some of the oldest tickets are of a retired ticket type (own random stream, so the
        # draws above - and with them every other ticket - stay as they were)
        g2 = np.random.default_rng([self.seed, 0x5E71])
        retired = (occ < start + self.span_ms // 4) & (g2.random(n) < 0.08)
        ttype[retired] = RETIRED_TICKET_TYPES[0][0]
        self.ids = np.arange(1, n + 1, dtype=np.int64)
        self.occ, self.lu, self.closed, self.ttype, self.status, self.deleted = occ, lu, closed, ttype, status, deleted
        self._tiebreak = (self.ids * 2654435761) & 0xFFFFFFFF

    @property
    def count(self) -> int:
        return len(self.ids)

    def _bump(self, ids: Iterable[int]) -> None:
        self.version += 1
        self._qcache.clear()
        with self._cache_lock:
            for i in ids:
                for v in self._cf_keys:
                    self._cache.pop((int(i), v), None)

    # --- mutations ------------------------------------------------------
    def mutate(self, update: int = 0, create: int = 0, delete: int = 0, ids=None, users: int = 0,
               clients: int = 0, sites: int = 0) -> dict:
        """Move ``last_update`` of tickets to now / create / soft-delete; move the last-update time of
        users / clients / sites to now (quirks.py, simulator-only). Returns affected ids per kind."""
        with self.lock:
            rng = self._mut_rng
            now = max(ms_now(), self.end_ms)
            live = None
            out = {"updated": [], "created": [], "deleted": []}
            if users or clients or sites:
                out.update(self.ref.mutate(now, users=users, clients=clients, sites=sites))
            upd_ids = [int(i) for i in ids] if ids else []
            if update:
                live = np.flatnonzero(~self.deleted)
                k = min(update, len(live))
                upd_ids += [int(self.ids[j]) for j in rng.sample(list(live), k)] if k else []
            for tid in upd_ids:
                j = tid - 1
                if not (0 <= j < self.count):
                    continue
                self.lu[j] = now
                r = rng.random()
                if self.closed[j] == NONE_MS and r < 0.3:
                    self.closed[j] = now
                    self.status[j] = CLOSED_STATUS_IDS[0]
                elif self.closed[j] != NONE_MS and r < 0.1:
                    self.closed[j] = NONE_MS
                    self.status[j] = OPEN_STATUS_IDS[1]
                elif self.closed[j] == NONE_MS:
                    self.status[j] = rng.choice(OPEN_STATUS_IDS)
                out["updated"].append(tid)
            if create:
                first = int(self.ids[-1]) + 1 if self.count else 1
                new_ids = np.arange(first, first + create, dtype=np.int64)
                self.ids = np.concatenate([self.ids, new_ids])
                self.occ = np.concatenate([self.occ, np.full(create, now, np.int64)])
                self.lu = np.concatenate([self.lu, np.full(create, now, np.int64)])
                self.closed = np.concatenate([self.closed, np.full(create, NONE_MS, np.int64)])
                self.ttype = np.concatenate([self.ttype, np.array([rng.choice(TICKET_TYPES)[0] for _ in range(create)], np.int8)])
                self.status = np.concatenate([self.status, np.full(create, 1, np.int16)])
                self.deleted = np.concatenate([self.deleted, np.zeros(create, bool)])
                self._tiebreak = (self.ids * 2654435761) & 0xFFFFFFFF
                out["created"] = [int(i) for i in new_ids]
            if delete:
                live = np.flatnonzero(~self.deleted)
                k = min(delete, len(live))
                for j in (rng.sample(list(live), k) if k else []):
                    self.deleted[j] = True
                    out["deleted"].append(int(self.ids[j]))
            self._bump(out["updated"] + out["deleted"])
            return out

    def custom_field_truth(self, include_deleted: bool = False) -> dict:
        """Ground truth: {ticket id: {field id: value}}, only the fields a ticket has a value for (Q35)."""
        with self.lock:
            res = {}
            for j in range(self.count):
                if self.deleted[j] and not include_deleted:
                    continue
                tid = int(self.ids[j])
                info = self._variant(self._variant_of(tid))[1]
                res[tid] = {fid: v for fid, (v, _) in self._cf_values(tid, int(self.occ[j]), info).items()}
            return res

    def truth(self, include_deleted: bool = False) -> dict:
        with self.lock:
            res = {}
            for j in range(self.count):
                d = bool(self.deleted[j])
                if d and not include_deleted:
                    continue
                res[int(self.ids[j])] = {"last_update": fmt_ms(int(self.lu[j])), "tickettype_id": int(self.ttype[j]),
                                         "deleted": d, "status_id": int(self.status[j]),
                                         "dateoccurred": fmt_ms(int(self.occ[j]))}
            return res

    # --- queries --------------------------------------------------------
    ORDER_FIELDS = {"id": "id", "last_update": "lu", "lastupdate": "lu", "flastupdate": "lu",
                    "dateoccurred": "occ", "dateoccured": "occ", "dateclosed": "closed", "datecleared": "closed",
                    "status_id": "status", "tickettype_id": "ttype"}

    def query(self, f: dict) -> np.ndarray:
        """Indices (into the index arrays) of matching tickets, in order. ``f`` is a normalised filter dict."""
        key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in f.items()))
        with self.lock:
            hit = self._qcache.get(key)
            if hit is not None:
                return hit
            mask = self.deleted.copy() if f.get("deleted") else ~self.deleted
            if f.get("types") is not None:
                mask &= np.isin(self.ttype, np.array(f["types"], np.int8))
            if f.get("status_ids") is not None:
                mask &= np.isin(self.status, np.array(f["status_ids"], np.int16))
            if f.get("ids") is not None:
                mask &= np.isin(self.ids, np.array(f["ids"], np.int64))
            if f.get("open_only"):
                mask &= self.closed == NONE_MS
            if f.get("closed_only"):
                mask &= self.closed != NONE_MS
            if f.get("lu_from") is not None:
                us = self.lu * 1000
                mask &= (us > f["lu_from"]) if f.get("lu_from_op") == ">" else (us >= f["lu_from"])
            if f.get("lu_to") is not None:
                us = self.lu * 1000
                mask &= (us < f["lu_to"]) if f.get("lu_to_op") == "<" else (us <= f["lu_to"])
            if f.get("ds_field"):
                col = self.occ if f["ds_field"] == "occ" else self.closed
                us = col * 1000
                if f["ds_field"] == "closed":
                    mask &= col != NONE_MS
                if f.get("ds_start") is not None:
                    mask &= us >= f["ds_start"]
                if f.get("ds_end") is not None:
                    mask &= us <= f["ds_end"]
            idx = np.flatnonzero(mask)
            order = f.get("order") or ()
            if order:
                keys = [self._tiebreak[idx]]
                for field, desc in reversed(order):
                    col = self.ids if field == "id" else getattr(self, field)
                    v = col[idx].astype(np.int64)
                    keys.append(-v if desc else v)
                # lexsort: last key is primary
                idx = idx[np.lexsort(keys)]
            if len(self._qcache) > 64:
                self._qcache.clear()
            self._qcache[key] = idx
            return idx

    def type_counts(self) -> dict:
        with self.lock:
            live = ~self.deleted
            return {t[0]: int(np.count_nonzero(live & (self.ttype == t[0]))) for t in ALL_TICKET_TYPES}

    def index_of(self, tid: int) -> int | None:
        j = tid - 1
        return j if 0 <= j < self.count else None

    # --- rendering ------------------------------------------------------
    # A ticket = per-ticket fields computed from the index and a cheap hash of
    # (seed, id), plus one of ``n_variants`` pre-serialised fragments holding
    # the slow-to-generate content (summary, long details with unicode and
    # PII, requester, agent, categories ...). Rendered bytes are cached.
    N_VARIANTS = 4096

    def _variant(self, v: int):
        hit = self._variants.get(v)
        if hit is not None:
            return hit
        rng = random.Random(f"var:{self.seed}:{v}")
        ref = self.ref
        user = ref.users[rng.randrange(len(ref.users))]
        site = ref.site_by_id[user[3]]
        client_id = site[2]
        agent = ref.agents[0] if rng.random() < 0.15 else ref.agents[rng.randrange(1, len(ref.agents))]
        team_id = agent[3] or rng.choice(TEAMS)[0]
        prio = rng.choice(PRIORITIES)
        cat, sub = rng.choice(CATEGORIES), rng.choice(SUBCATS)
        tmpl = rng.choice(SUMMARY_TEMPLATES)
        city = rng.choice(CITIES)
        n_words = min(int(rng.paretovariate(1.6) * 40), 3000)
        body = " ".join(rng.choices(WORDS, k=n_words))
        details = (f"Hi team,\n\n{body}.\n\nYou can reach me at {user[4]} or on {user[5]}.\n"
                   f"Thanks,\n{user[1]} {user[2]}\n{ref.client_by_id[client_id]} – {site[1]}")
        has_email = rng.random() < 0.4
        onhold_time = round(rng.random() * 10, 2)
        static = {
            "details": details,
            "priority_id": prio[0],
            "priority_name": prio[1],
            "client_id": client_id,
            "client_name": ref.client_by_id[client_id],
            "site_id": site[0],
            "site_name": site[1],
            "user_id": user[0],
            "user_name": f"{user[1]} {user[2]}",
            "team_id": team_id,
            "team": dict(TEAMS)[team_id],
            "agent_id": agent[0],
            "agent_name": agent[1],
            "category_1": cat,
            "category_2": sub,
            "category_3": "",
            "category_4": "",
            "categoryid_1": CATEGORY_ID[(1, cat)],
            "categoryid_2": CATEGORY_ID[(2, sub)],
            "categoryid_3": 0,
            "categoryid_4": 0,
            "estimate": round(rng.random() * 8, 2) if rng.random() < 0.3 else 0.0,
            "estimatedays": 0.0,
            "child_count": 0 if rng.random() < 0.95 else rng.randrange(1, 4),
            "attachment_count": 0 if rng.random() < 0.8 else rng.randrange(1, 6),
            "flagged": rng.random() < 0.02,
            "read": rng.random() < 0.8,
            "enduserstatus": 0,
            "excludefromsla": False,
            "site_timezone": "",
            "organisation_id": 1,
            "department_id": 1 + team_id % 2,
            "reportedby": user[4],
            "user_email": user[4],
            "emailtolist": user[4] if has_email else "",
            "emailcclist": "",
            "matched_kb_id": 0,
            "product_id": 0,
            "release_id": 0,
            "release2_id": 0,
            "release3_id": 0,
            "pipeline_stage_id": 1,
            "parent_id": 0,
            "is_vip": rng.random() < 0.03,
            "isimportantcontact": False,
            "inactive": False,
            "impact": rng.randrange(1, 4),
            "urgency": rng.randrange(1, 4),
            "starttime": "00:00:00",
            "starttimeslot": 0,
            "targetdate": NO_DATE_1900,
            "targettime": "00:00:00",
            "targettimeslot": 0,
            "deadlinedate": NO_DATE_1900,
            "cost": 0.0,
            "quantity": 1,
            "userdef1": "",
            "userdef2": "",
            "userdef3": "",
            "userdef4": "",
            "userdef5": user[5] if rng.random() < 0.2 else "",
            "source": rng.choice([0, 1, 3, 3, 5]),
            "supplier_status": 0,
            "appointment_type": 0,
            "section_timezone": "",
            "projectinternaltask": False,
            "impactlevel": 0,
            "reviewed": False,
            "merged_into_id": 0,
            "table": 1,
            "use": "ticket",
            "useful_count": 0,
            "notuseful_count": 0,
            "updateservicestatus": False,
            "servicestatusnote": "",
            "ticket_tags": rng.choice(["", "", "", "bug", "vpn,remote", "hardware"]),
            "invoiceseperatelyoverride": False,
            "purchaseordernumber": "",
            "maximumRestrictedPriority": 0,
            "_open_search_score": 0.0,
            "viewers": [],
        }
        rng3 = random.Random(f"var-cat:{self.seed}:{v}")  # Q33: own stream, the draws above stay as they were
        if rng3.random() < 0.35:
            static["category_3"] = rng3.choice(SERVICES)
            static["categoryid_3"] = CATEGORY_ID[(3, static["category_3"])]
        if rng3.random() < 0.12:
            static["category_4"] = rng3.choice(ROOT_CAUSES)
            static["categoryid_4"] = CATEGORY_ID[(4, static["category_4"])]
        frag = orjson.dumps(static)[1:-1]
        info = {"tmpl": tmpl, "cat": cat, "sub": sub, "first": user[1], "last": user[2], "city": city,
                "fix_hours": {1: 4, 2: 8, 3: 72, 4: 120}[prio[0]], "agent_id": agent[0], "has_email": has_email,
                "onhold_time": onhold_time, "user": user, "prio": prio, "site": site, "static": static}
        hit = (frag, info)
        self._variants[v] = hit
        return hit

    def ticket_bytes(self, j: int, custom_fields: tuple | None = None) -> bytes:
        """Cached JSON bytes of the list row at index ``j``; ``custom_fields``: the field ids of
        ``include_custom_fields`` (Q18), or None for a row without ``customfields``."""
        cfk = custom_fields if custom_fields is not None else 0
        key = (int(self.ids[j]), cfk)
        b = self._cache.get(key)
        if b is not None:
            return b
        if cfk not in self._cf_keys:
            with self._cache_lock:
                self._cf_keys.add(cfk)
        b = self._render_bytes(j, custom_fields)
        with self._cache_lock:
            while self._cache and len(self._cache) >= self.cache_size:
                self._cache.popitem(last=False)  # FIFO eviction, O(1)
            if self.cache_size:
                self._cache[key] = b
        return b

    def _hash(self, tid: int) -> int:
        h = ((tid * 0x9E3779B97F4A7C15) ^ (self.seed * 0xC2B2AE3D27D4EB4F)) & 0xFFFFFFFFFFFFFFFF
        return h ^ (h >> 29)

    def _variant_of(self, tid: int) -> int:
        return self._hash(tid) % self.N_VARIANTS

    def _dynamic(self, j: int):
        tid = int(self.ids[j])
        occ, lu, closed = int(self.occ[j]), int(self.lu[j]), int(self.closed[j])
        ttype, status = int(self.ttype[j]), int(self.status[j])
        h = self._hash(tid)
        v = h % self.N_VARIANTS
        frag, info = self._variant(v)
        h2 = (h >> 12) & 0xFFFFFFFF
        is_closed = closed != NONE_MS
        summary = info["tmpl"].format(cat=info["cat"], sub=info["sub"], first=info["first"], last=info["last"],
                                      city=info["city"], prefix=TYPE_PREFIX[ttype], id=tid)
        responded = is_closed or (h2 % 10) < 7
        span = lu - occ
        lastaction = occ + (span * (h2 % 1000)) // 1000
        sla = 1 if ttype in (1, 3) else 2
        dyn = {
            "id": tid,
            "dateoccurred": fmt_ms(occ),
            "summary": summary,
            "status_id": status,
            "status_name": STATUS_NAMES[status],
            "tickettype_id": ttype,
            "tickettype_name": TYPE_NAMES[ttype],
            "sla_id": sla,
            "sla_name": SLAS[sla - 1][1],
            "timetaken": (h2 % 5000) / 1000.0 if is_closed else 0.0,
            "onhold": status in ONHOLD_STATUS_IDS,
            "slaholdtime": info["onhold_time"] if status in ONHOLD_STATUS_IDS else 0.0,
            "respondbydate": fmt_ms(occ + 3_600_000),
            "responsedate": fmt_ms(sql_round(occ + 60_000 + (h2 % 10_800_000))) if responded else NO_DATE_1900,
            "slaresponsestate": "I" if responded else "",
            "fixbydate": fmt_ms(occ + info["fix_hours"] * 3_600_000),
            "dateclosed": fmt_ms(closed) if is_closed else NO_DATE_1900,
            "dateassigned": fmt_ms(sql_round(occ + 60_000 + h2 % 3_600_000)) if info["agent_id"] != 1 else NO_DATE_1900,
            "hasbeenclosed": is_closed,
            "lastactiondate": (la := fmt_ms(sql_round(lastaction))),
            "last_update": fmt_ms(lu),
            "lastincomingemail": fmt_ms(occ + 5000) if info["has_email"] else NO_DATE_0001,
            "workflow_id": 10 if ttype == 4 else 0,
            "workflow_step": 1 + h2 % 4 if ttype == 4 else 0,
            "workflow_seq": 1 if ttype == 4 else 0,
            "ticketage": round((self.end_ms - occ) / 3_600_000, 2),
            "itil_requesttype_id": TYPE_ITIL[ttype],
            "guid": "%08x-%04x-4%03x-a%03x-%012x" % (h & 0xFFFFFFFF, tid & 0xFFFF, h2 & 0xFFF, (h >> 40) & 0xFFF,
                                                     (h * 31 + tid) & 0xFFFFFFFFFFFF),
            "idsummary": f"{tid} - {summary}",
            "lastnote_date": la if h2 % 5 < 3 else NO_DATE_1900,
        }
        return dyn, frag, info, h2

    def _render_bytes(self, j: int, custom_fields: tuple | None) -> bytes:
        dyn, frag, info, h2 = self._dynamic(j)
        if custom_fields is not None:
            dyn["customfields"] = self._custom_fields(dyn["id"], int(self.occ[j]), info, custom_fields)
        return b"{" + orjson.dumps(dyn)[1:-1] + b"," + frag + b"}"

    def _cf_values(self, tid: int, occ: int, info: dict) -> dict:
        """Q35: {field id: (value, display)} of the fields ticket ``tid`` has a value for."""
        def roll(fid: int) -> int:  # 0..999, fixed per (seed, ticket, field)
            x = (tid * 0x9E3779B1 + fid * 0x85EBCA77 + self.seed * 0xC2B2AE3D) & 0xFFFFFFFF
            x ^= x >> 15
            x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
            x ^= x >> 12
            return x % 1000

        if roll(0) < BLANK_CF_PERMILLE:
            return {}
        user = info["user"]
        out = {}
        for fid, name, label, typ, inputtype, permille in CUSTOM_FIELDS:
            r = roll(fid)
            if r >= permille:
                continue
            if typ == CF_SELECT:
                v, disp = IMPACT_VALUES[tid % 3]
            elif typ == CF_DATE:
                ms = occ + (1 + tid % 29) * DAY_MS
                v = fmt_ms(ms)
                disp = (EPOCH + _dt.timedelta(milliseconds=ms)).strftime("%d/%m/%Y")
            elif typ == CF_CHECKBOX:
                v = tid % 10 == 0
                disp = "Yes" if v else "No"
            elif typ == CF_MEMO:
                v = disp = f"Caller {user[1]} {user[2]} <{user[4]}> asked for a call back on {user[5]}.\nTried twice – no answer."
            elif inputtype == CF_INPUT_INTEGER:
                v = 1 + (r * 7 + tid) % 250
                disp = str(v)
            elif inputtype == CF_INPUT_DECIMAL:
                v = round(0.25 * (1 + (r * 13 + tid) % 160), 2)
                disp = f"{v:g}"
            elif fid == 166:
                v = disp = f"CC-{1000 + (tid * 7919) % 9000}"
            else:
                v = disp = user[5]
            out[fid] = (v, disp)
        return out

    def _custom_fields(self, tid: int, occ: int, info: dict, ids=None) -> list:
        """The ``customfields`` array: one object per field of ``ids`` (all fields when None), in
        that order; ``value`` null and ``display`` "" where the ticket has no value (Q35)."""
        values = self._cf_values(tid, occ, info)
        out = []
        for fid in (ids if ids is not None else [cf[0] for cf in CUSTOM_FIELDS]):
            cf = CUSTOM_FIELD_BY_ID.get(fid)
            if cf is None:
                continue
            cid, name, label, typ, inputtype = cf[:5]
            v, disp = values.get(cid, (None, ""))
            out.append({"id": cid, "name": name, "label": label, "summary": "", "type": typ, "value": v,
                        "display": disp, "characterlimit": 0, "characterlimittype": 0, "inputtype": inputtype,
                        "copytochild": False, "searchable": False, "ordervalues": False, "ordervaluesby": 0,
                        "database_lookup_auto": False, "extratype": 1 if typ == CF_SELECT else 0,
                        "copytochildonupdate": False, "usage": 1, "showondetailsscreen": False,
                        "custom_extra_table_id": 0, "copytorelated": False, "calculation": "", "regex": "",
                        "is_horizontal": False, "isencrypted": False, "selection_field_id": 0, "showintable": True})
        return out

    def render(self, j: int, custom_fields=None, detail: bool = False) -> dict:
        """The ticket at index ``j`` as a dict, as Halo sends it (Q20-Q24); ``custom_fields``: field
        ids for ``customfields`` (True = all); a single ticket (``detail``) carries all of them."""
        dyn, frag, info, h2 = self._dynamic(j)
        d = dict(dyn)
        d.update(info["static"])
        tid = dyn["id"]
        if detail or custom_fields is True:
            d["customfields"] = self._custom_fields(tid, int(self.occ[j]), info)
        elif custom_fields:
            d["customfields"] = self._custom_fields(tid, int(self.occ[j]), info, tuple(custom_fields))
        if detail:
            p, ttype, ref = info["prio"], dyn["tickettype_id"], self.ref
            user, site = info["user"], info["site"]
            details = d["details"]
            d.update({
                "details_html": "<p>" + details.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>") + "</p>",
                "priority": {"id": ref.policy_guids[(dyn["sla_id"], p[0])], "slaid": dyn["sla_id"], "priorityid": p[0], "name": p[1],
                             "fixtime": float(p[2]), "fixunits": p[3], "responsetime": 1.0, "responseunits": "H",
                             "colour": "#ff0000"},
                "reference": f"{TYPE_PREFIX[ttype]}-{tid:07d}",
                "datecreated": dyn["dateoccurred"],
                "tags": [{"id": i, "text": t} for i, t in enumerate(filter(None, d["ticket_tags"].split(",")))],
                "deleted": bool(self.deleted[j]),
                "auditdate": NO_DATE_1899,
                "laststatuschangestatusdate": NO_DATE_1899,
                "reviewed_date": NO_DATE_1899,
                "tickettype": {"id": ttype, "guid": ref.type_guids[ttype], "name": TYPE_NAMES[ttype], "use": "tickets"},
                "user": {"id": user[0], "name": f"{user[1]} {user[2]}", "site_id": float(site[0]),
                         "site_id_int": site[0], "emailaddress": user[4]},
            })
        return d

    def actions(self, tid: int) -> list:
        j = self.index_of(tid)
        if j is None:
            return []
        occ, lu = int(self.occ[j]), int(self.lu[j])
        rng = random.Random(f"act:{self.seed}:{tid}")
        n = rng.randrange(1, 7)
        out = []
        for i in range(1, n + 1):
            t = sql_round(occ + (lu - occ) * (i - 1) / max(1, n - 1)) if n > 1 else occ
            agent = self.ref.agents[rng.randrange(len(self.ref.agents))]
            note = rng.choice(["Ticket logged", "Called the user back on +44 20 7946 0958",
                               "Emailed user at someone@example.com", "Escalated to 2nd line",
                               "Réinitialisé le mot de passe", "Closed – fixed"])
            out.append({"ticket_id": tid, "id": i, "outcome": "Note" if i > 1 else "Logged", "outcome_id": i % 3,
                        "who": agent[1], "who_type": 1, "who_agentid": agent[0], "datetime": fmt_ms(t),
                        "actiondatecreated": fmt_ms(t), "actionarrivaldate": fmt_ms(t),
                        "actioncompletiondate": fmt_ms(t), "note": note, "note_html": f"<p>{note}</p>",
                        "hiddenfromuser": rng.random() < 0.2, "timetaken": round(rng.random(), 4),
                        "last_updated": fmt_ms(t)})
        return out
