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
# Q34, Q36: the outcomes actions carry besides the ones above; ``systemid`` (last column) non-zero marks
# an outcome Halo records by itself, and an action's ``action_systemid`` is its outcome's ``systemid``.
# (Their GUIDs come from their own random stream, so every row above stays as it was.)
ACTION_OUTCOMES = [
    (9, "Time Entry", "Log Time", "Record time worked on the ticket", False, "fa-clock-o", 0),
    (10, "Email Received", "Email Received", "An email from the end-user", False, "fa-inbox", 0),
    (11, "Ticket Logged", "Logged", "The ticket was logged", False, "fa-plus-circle", 1),
    (12, "Status Change", "Change Status", "The ticket's status changed", False, "fa-exchange", 2),
    (13, "SLA Hold", "SLA Hold", "The SLA timer was put on hold", False, "fa-pause", 3),
    (14, "SLA Release", "SLA Release", "The SLA timer was released", False, "fa-play", 4),
]
OUTCOME_SYSTEMID = {o[0]: 0 for o in OUTCOMES} | {o[0]: o[6] for o in ACTION_OUTCOMES}
OUTCOME_NAME = {o[0]: o[1] for o in OUTCOMES + ACTION_OUTCOMES}
# Q36: kinds of action. code -> (outcome id, who acts: "agent" | "user" (the ticket's end-user) | "system",
# per-mille of them private (hiddenfromuser), weight among a ticket's later actions)
K_LOGGED, K_NOTE, K_EMAIL_OUT, K_EMAIL_IN, K_TIME, K_PHONE, K_STATUS, K_HOLD, K_RELEASE, K_ESCALATE = range(10)
ACTION_KINDS = [
    (11, "user", 0, 0.0),       # Ticket Logged - system outcome, always action 1
    (1, "agent", 350, 0.30),    # Note
    (2, "agent", 0, 0.14),      # Email User
    (10, "user", 0, 0.14),      # Email Received
    (9, "agent", 600, 0.14),    # Time Entry
    (3, "agent", 200, 0.05),    # Phone Call
    (12, "agent", 0, 0.12),     # Status Change - system outcome (the agent whose change it records)
    (13, "system", 1000, 0.04),  # SLA Hold - system outcome
    (14, "system", 1000, 0.04),  # SLA Release - system outcome
    (4, "agent", 1000, 0.03),   # Escalate
]
ADDED_KINDS = (K_NOTE, K_EMAIL_OUT, K_EMAIL_IN, K_TIME, K_PHONE)  # what ``mutate(actions_add=)`` adds
EMAIL_KINDS = (K_EMAIL_OUT, K_EMAIL_IN)
HEAVY_ACTIONS = (50, 150)  # a few tickets have this many actions (inclusive range)
ACTION_NOTES = [
    "Called {first} back on {phone} – no answer, left a voicemail.",
    "User confirmed the {sub} problem is gone after a restart.",
    "Réinitialisé le mot de passe de {first}; l'utilisateur doit se reconnecter.",
    "Checked the logs: timeout talking to the {sub} server (0x80070005).",
    "Waiting on the supplier – their ref. SUP-{n}.",
    "Discussed with 2nd line, see the Teams thread 👍",
    "Kundin informiert, Gerät wird getauscht.",
    "Remote session with {first} {last} <{email}>; cleared the cache and re-synced.",
    "Workaround sent: use the web client until the fix is rolled out.",
    "“{sub}” licence re-assigned – ½ day lost, £0 cost.",
]
# Known personal data, planted sparingly and deterministically for the redaction tests
# (integration_tests/test_redaction.py): nothing else in the data renders these values, so each one seen
# in a connector's output is a leak. Planted in the summary of tickets with id % 50 == 7, the details of
# id % 50 == 17, the "Internal notes" custom field (CFinternalNotes, memo) of id % 20 == 7 when it has a
# value, and the note (and so note_html / emailbody_html) of about one action in 60. Near misses (ids,
# dates, versions, prices, numbers failing Luhn or the IBAN checksum) ride along and must survive.
PLANTED_PII = {
    "email": ["ada.lovelace+vpn@planted-pii.example.org", "jörg.schäfer@planted-pii.example.de",
              "m.dupont@planted-pii.example.fr"],
    "phone": ["+49 30 22610 4455", "0049 89 1234 5678", "030 2261 0445", "+33 1 42 68 53 00", "01 42 68 53 00",
              "+31 20 794 1234", "06-1234 5678", "+34 912 345 678", "612 34 56 78", "(415) 867-5309",
              "020 7946 0321"],
    "payment_card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "iban": ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "NL91 ABNA 0417 1643 00",
             "FR14 2004 1010 0505 0001 3M02 606", "ES91 2100 0418 4502 0005 1332"],
    "ip_address": ["192.168.23.41", "10.20.30.40", "2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a"],
}
PLANTED_NEAR_MISSES = ["INC-2024-000123", "2024-06-20", "20/06/2024", "20.06.2024", "10.0.19045.3803",
                       "Version 1.2.3.4", "1.2.3.4-beta", "€1,234.56", "14:45", "4111 1111 1111 1112",
                       "DE89 3704 0044 0532 0130 01", "#12345", "SN 5CG1234XYZ"]
_P = PLANTED_PII
PLANTED_SUMMARIES = [
    f"VPN down – call me on {_P['phone'][0]}",
    f"Refund to {_P['iban'][1]} please (INC-2024-000123)",
    f"Card {_P['payment_card'][0]} declined, not 4111 1111 1111 1112",
    f"Mail from {_P['email'][0]} bounced",
    f"Host {_P['ip_address'][0]} unreachable since 14:45",
]
PLANTED_DETAILS = [
    f"Customer {_P['email'][0]} (tel. {_P['phone'][9]}) paid with {_P['payment_card'][1]}; refund to IBAN "
    f"{_P['iban'][1]}. Seen from {_P['ip_address'][1]}. Ref INC-2024-000123, build 10.0.19045.3803, on 2024-06-20 "
    "at 14:45, total €1,234.56.",
    f"Bitte Rückruf unter {_P['phone'][2]} oder {_P['phone'][1]}, E-Mail {_P['email'][1]}. Konto {_P['iban'][0]} "
    f"(nicht DE89 3704 0044 0532 0130 01). Rechner {_P['ip_address'][2]}; Version 1.2.3.4; Termin 20.06.2024.",
    f"Merci d'écrire à {_P['email'][2]} ou d'appeler le {_P['phone'][4]} ({_P['phone'][3]}). Carte "
    f"{_P['payment_card'][2]}, IBAN {_P['iban'][3]}, facture du 20/06/2024, ticket #12345.",
    f"Llamar al {_P['phone'][8]} o al {_P['phone'][7]}; IBAN {_P['iban'][4]}; equipo SN 5CG1234XYZ, versión 1.2.3.4-beta.",
    f"Bel {_P['phone'][6]} of {_P['phone'][5]}; rekening {_P['iban'][2]}; adres {_P['ip_address'][3]}; "
    f"zie ook {_P['phone'][10]}.",
]
PLANTED_NOTES = [
    f"Caller gave a new number: {_P['phone'][0]}; confirm by mail to {_P['email'][2]}.",
    f"<b>Payment</b> with {_P['payment_card'][0]} failed; use IBAN {_P['iban'][0]} instead.",
    f"Firewall blocks {_P['ip_address'][1]} and {_P['ip_address'][3]} (since version 1.2.3.4).",
]
PLANTED_CF_NOTE = (f"Caller asked for a call back on {_P['phone'][3]} or {_P['email'][1]}; card {_P['payment_card'][1]}; "
                   f"see INC-2024-000123.")


def planted_details(tid: int):
    """The details planted in ticket ``tid`` (None for most tickets)."""
    return PLANTED_DETAILS[(tid // 50) % len(PLANTED_DETAILS)] if tid % 50 == 17 else None


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


KIND_IS_SYSTEM = np.array([OUTCOME_SYSTEMID[kd[0]] != 0 for kd in ACTION_KINDS])  # Q36: excludesys


class _Actions:
    """Per-action arrays (one entry per action, ever; deleted ones flagged ``gone``). The generated
    history is grouped by ticket (ticket index ``j`` owns ``starts[j]:starts[j+1]``, ids 1..n in
    order); actions added later are appended and listed per ticket in ``extra``. ``next_id`` is each
    ticket's next action id; ``dt_order``/``dt_sorted`` the datetime index (rebuilt after appends)."""

    def __init__(self, tix, aid, dt, lu, kind, private, old, new, edits, gone, starts, n_gen, next_id):
        self.tix, self.aid, self.dt, self.lu, self.kind, self.private = tix, aid, dt, lu, kind, private
        self.old, self.new, self.edits, self.gone, self.starts, self.n_gen = old, new, edits, gone, starts, n_gen
        self.next_id = next_id
        self.extra: dict = {}
        self.dt_order = self.dt_sorted = None


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")


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
        rng4 = random.Random(f"ref-outcomes:{seed}")  # Q36: the outcomes actions carry
        self.outcome_guids.update({o[0]: _guid(rng4) for o in ACTION_OUTCOMES})
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
        """Q34: TOutcome rows; two are hidden; those with a non-zero ``systemid`` are system outcomes (Q36)."""
        return [{"id": o[0], "guid": self.outcome_guids[o[0]], "outcome": o[1], "buttonname": o[2], "labellong": o[3],
                 "colour": "#2bd3c6", "sequence": o[0], "hidden": o[4], "systemid": OUTCOME_SYSTEMID[o[0]], "icon": o[5],
                 "hidefromuser": o[0] not in (2, 10), "slaholdischecked": o[1] == "SLA Hold",
                 "slareleaseischecked": o[1] == "SLA Release",
                 "newstatus": 8 if o[1] == "Resolve" else 9 if o[1] == "Close" else 0, "defaultmanhrs": 0.0}
                for o in OUTCOMES + ACTION_OUTCOMES]

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
                 cache_size: int = 20000, actions_per_ticket: float = 5.0):
        if actions_per_ticket < 0:
            raise ValueError("actions_per_ticket must be >= 0")
        self.seed = seed
        self.actions_per_ticket = float(actions_per_ticket)
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
        self._act_mut_rng = random.Random(f"act-mut:{seed}")  # action mutations: the ticket stream stays as it was
        self._acts = None  # per-action arrays, built on first use (_actions())
        self._aqcache: dict = {}
        self.clock_offset = 0.0  # seconds (server.SWITCHES, Q42)
        self.delete_moves_last_update = False  # Q13
        self.deleted_ticket_actions = "hidden"  # Q43
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
        self._build_action_summary(n, closed_mask)

    @property
    def count(self) -> int:
        return len(self.ids)

    def _bump(self, ids: Iterable[int]) -> None:
        self.version += 1
        self._qcache.clear()
        self._aqcache.clear()
        with self._cache_lock:
            for i in ids:
                for v in self._cf_keys:
                    self._cache.pop((int(i), v), None)

    # --- mutations ------------------------------------------------------
    def mutate(self, update: int = 0, create: int = 0, delete: int = 0, ids=None, users: int = 0,
               clients: int = 0, sites: int = 0, actions_add: int = 0, actions_edit: int = 0,
               actions_delete: int = 0) -> dict:
        """Move ``last_update`` of tickets to now / create / soft-delete; move the last-update time of
        users / clients / sites to now (quirks.py, simulator-only); add, edit, delete actions (Q39).
        Returns affected ids per kind (actions as [ticket_id, id] pairs)."""
        for name, k in (("update", update), ("create", create), ("delete", delete), ("actions_add", actions_add),
                        ("actions_edit", actions_edit), ("actions_delete", actions_delete)):
            if k < 0:
                raise ValueError(f"{name} must be >= 0")
        with self.lock:
            rng = self._mut_rng
            now = max(sql_round(ms_now() + int(self.clock_offset * 1000)), self.end_ms)
            live = None
            out = {"updated": [], "created": [], "deleted": [], "actions_added": [], "actions_edited": [],
                   "actions_deleted": []}
            if users or clients or sites:
                out.update(self.ref.mutate(now, users=users, clients=clients, sites=sites))
            if update or create or ids or actions_add or actions_edit or actions_delete:
                self._actions()  # the generated history first, then the changes on top of it
            upd_ids = [int(i) for i in ids] if ids else []
            if update:
                live = np.flatnonzero(~self.deleted)
                k = min(update, len(live))
                upd_ids += [int(self.ids[j]) for j in rng.sample(list(live), k)] if k else []
            new_actions = []  # (ticket index, kind, old status, new status)
            for tid in upd_ids:
                j = tid - 1
                if not (0 <= j < self.count):
                    continue
                self.lu[j] = now
                was = int(self.status[j])
                r = rng.random()
                if self.closed[j] == NONE_MS and r < 0.3:
                    self.closed[j] = now
                    self.status[j] = CLOSED_STATUS_IDS[0]
                elif self.closed[j] != NONE_MS and r < 0.1:
                    self.closed[j] = NONE_MS
                    self.status[j] = OPEN_STATUS_IDS[1]
                elif self.closed[j] == NONE_MS:
                    self.status[j] = rng.choice(OPEN_STATUS_IDS)
                if int(self.status[j]) != was and not self.deleted[j]:  # Q39: a status change is an action
                    new_actions.append((j, K_STATUS, was, int(self.status[j])))
                out["updated"].append(tid)
            if create:
                first = int(self.ids[-1]) + 1 if self.count else 1
                new_ids = np.arange(first, first + create, dtype=np.int64)
                n0 = self.count
                self.ids = np.concatenate([self.ids, new_ids])
                self.occ = np.concatenate([self.occ, np.full(create, now, np.int64)])
                self.lu = np.concatenate([self.lu, np.full(create, now, np.int64)])
                self.closed = np.concatenate([self.closed, np.full(create, NONE_MS, np.int64)])
                self.ttype = np.concatenate([self.ttype, np.array([rng.choice(TICKET_TYPES)[0] for _ in range(create)], np.int8)])
                self.status = np.concatenate([self.status, np.full(create, 1, np.int16)])
                self.deleted = np.concatenate([self.deleted, np.zeros(create, bool)])
                self.last_act = np.concatenate([self.last_act, np.full(create, now, np.int64)])
                self._acts.next_id = np.concatenate([self._acts.next_id, np.ones(create, np.int64)])
                self._tiebreak = (self.ids * 2654435761) & 0xFFFFFFFF
                out["created"] = [int(i) for i in new_ids]
                new_actions += [(j, K_LOGGED, 0, 0) for j in range(n0, n0 + create)]  # Q40: logged at dateoccurred
            if delete:
                live = np.flatnonzero(~self.deleted)
                k = min(delete, len(live))
                for j in (rng.sample(list(live), k) if k else []):
                    self.deleted[j] = True
                    if self.delete_moves_last_update:  # Q13
                        self.lu[j] = now
                    out["deleted"].append(int(self.ids[j]))
            touched = set()
            if actions_add:
                arng = self._act_mut_rng
                live_t = np.flatnonzero(~self.deleted)
                if len(live_t):
                    for _ in range(actions_add):  # Q39: a new action on a random live ticket
                        new_actions.append((int(live_t[arng.randrange(len(live_t))]), arng.choice(ADDED_KINDS), 0, 0))
            out["actions_added"] = self._add_actions(new_actions, now)
            touched.update(t - 1 for t, _ in out["actions_added"])
            a = self._acts
            if actions_edit:  # Q39: the note changes; last_updated and the ticket's last_update move
                live_a = self._live_actions()
                for i in sorted(self._act_mut_rng.sample(range(len(live_a)), min(actions_edit, len(live_a)))):
                    p = int(live_a[i])
                    a.edits[p] += 1
                    a.lu[p] = now
                    self.lu[a.tix[p]] = now
                    touched.add(int(a.tix[p]))
                    out["actions_edited"].append([int(a.tix[p]) + 1, int(a.aid[p])])
            if actions_delete:  # Q39: gone; the ticket's last_update moves, lastactiondate = the newest left
                live_a = self._live_actions()
                for i in sorted(self._act_mut_rng.sample(range(len(live_a)), min(actions_delete, len(live_a)))):
                    p = int(live_a[i])
                    a.gone[p] = True
                    j = int(a.tix[p])
                    self.lu[j] = now
                    touched.add(j)
                    out["actions_deleted"].append([j + 1, int(a.aid[p])])
                for j in {t - 1 for t, _ in out["actions_deleted"]}:
                    rest = self._ticket_positions(a, j)
                    rest = rest[~a.gone[rest]]
                    self.last_act[j] = int(a.dt[rest].max()) if len(rest) else NONE_MS
            self._bump(out["updated"] + out["deleted"] + [j + 1 for j in touched])
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
                                         "dateoccurred": fmt_ms(int(self.occ[j])),
                                         "lastactiondate": fmt_ms(int(self.last_act[j]))}
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
        if tid % 50 == 7:  # planted PII (PLANTED_PII)
            summary += " – " + PLANTED_SUMMARIES[(tid // 50) % len(PLANTED_SUMMARIES)]
        planted = planted_details(tid)
        if planted is not None:
            frag = orjson.dumps({**info["static"], "details": info["static"]["details"] + "\n" + planted})[1:-1]
        responded = is_closed or (h2 % 10) < 7
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
            "lastactiondate": (la := fmt_ms(int(self.last_act[j]))),  # Q40: the newest action's datetime
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
                if tid % 20 == 7:  # planted PII (PLANTED_PII)
                    v = disp = v + "\n" + PLANTED_CF_NOTE
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
        if planted_details(dyn["id"]) is not None:
            d["details"] += "\n" + planted_details(dyn["id"])
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

    # --- actions (quirks.py Q26, Q36-Q41) ----------------------------------
    # With the tickets come two small per-ticket arrays: how many actions the generated history has
    # (``n_act``) and the newest one's datetime (``last_act``, the ticket's ``lastactiondate``). The
    # actions themselves - a few numpy arrays with one entry per action, rows rendered on demand - are
    # generated from these on first use (``_actions()``), so a simulator that never serves actions never
    # pays for them, and the tickets are the same either way.

    def _build_action_summary(self, n: int, closed_mask) -> None:
        g = np.random.default_rng([self.seed, 0xAC7105])  # own stream: the tickets stay as they were
        a = self.actions_per_ticket
        r, u, v = g.random(n), g.random(n), g.random(n)
        force = [int(x) for x in g.integers(0, max(n, 1), size=2)]
        p_heavy, p_none = min(0.02, 0.0008 * a), 0.05
        heavy = r < p_heavy
        none = (r >= p_heavy) & (r < p_heavy + p_none)
        if n >= 100 and a >= 1:  # always a few tickets with many actions and a few with none
            if not heavy.any():
                heavy[force[0]], none[force[0]] = True, False
            if not none.any():
                k = force[1] if force[1] != force[0] else (force[1] + 1) % n
                none[k], heavy[k] = True, False
        lam = max(0.0, (a - p_heavy * sum(HEAVY_ACTIONS) / 2) / (1 - p_heavy - p_none) - 1)
        counts = 1 + g.poisson(lam, n)
        counts[heavy] = g.integers(HEAVY_ACTIONS[0], HEAVY_ACTIONS[1] + 1, int(heavy.sum()))
        counts[none] = 0
        if a <= 0:
            counts[:] = 0
        occ, lu = self.occ, self.lu
        # the newest action: a closed ticket's is its closing (at last_update = dateclosed); an open
        # ticket's is at its last_update (60%) or earlier; a ticket with one action only has "logged"
        mid = sql_round(occ + ((lu - occ) * u).astype(np.int64)) if n else occ
        last = np.where(closed_mask | (v < 0.6), lu, mid)
        last = np.where(counts == 1, occ, last)
        self.last_act = np.where(counts == 0, NONE_MS, last).astype(np.int64)
        self.n_act = counts.astype(np.int32)

    def _actions(self) -> "_Actions":
        """The per-action arrays, generated on first use. Callers hold ``self.lock``."""
        if self._acts is None:
            self._acts = self._generate_actions()
        return self._acts

    def _generate_actions(self) -> "_Actions":
        n = len(self.n_act)  # the generated tickets (mutations generate the actions before they create any)
        counts = self.n_act.astype(np.int64)
        g = np.random.default_rng([self.seed, 0xAC7106])
        total = int(counts.sum())
        starts = np.zeros(n + 1, np.int64)
        np.cumsum(counts, out=starts[1:])
        tix = np.repeat(np.arange(n, dtype=np.int32), counts)
        first_of = starts[:-1][tix]
        pos = np.arange(total, dtype=np.int64) - first_of
        cnt = counts[tix]
        first = pos == 0
        last = (pos == cnt - 1) & (cnt >= 2)
        # Q40: action 1 at dateoccurred, the last at last_act, the others in between in id order
        # (sorted uniform points as normalised cumulative sums of exponential gaps: no sort needed)
        e = g.exponential(size=total)
        e[first] = 0.0
        cs = np.cumsum(e)
        base = cs[first_of]
        den = cs[first_of + cnt - 1] - base
        frac = np.divide(cs - base, den, out=np.zeros(total), where=den > 0)
        occ, la = self.occ[:n][tix], self.last_act[:n][tix]
        dt = np.clip(sql_round(occ + ((la - occ) * frac).astype(np.int64)), occ, np.maximum(la, occ))
        dt[last] = la[last]
        dt[first] = occ[first]
        # Q36: kinds; a closed ticket's last action is the status change that closed it
        mid_kinds = np.array([k for k, kd in enumerate(ACTION_KINDS) if kd[3] > 0], np.int8)
        w = np.array([ACTION_KINDS[k][3] for k in mid_kinds])
        kind = g.choice(mid_kinds, size=total, p=w / w.sum()).astype(np.int8)
        kind[first] = K_LOGGED
        kind[last & (self.closed[:n] != NONE_MS)[tix]] = K_STATUS
        # status changes: each ticket's last one sets its current status; old_status chains them
        old = np.zeros(total, np.int8)
        new = np.zeros(total, np.int8)
        sc = np.flatnonzero(kind == K_STATUS)
        if len(sc):
            t = tix[sc]
            nw = g.choice(np.array(OPEN_STATUS_IDS, np.int8), size=len(sc))
            is_last = np.append(t[1:] != t[:-1], True)
            nw[is_last] = self.status[:n][t[is_last]]
            prev = np.concatenate([[1], nw[:-1]]).astype(np.int8)
            prev[np.concatenate([[True], t[1:] != t[:-1]])] = 1  # a ticket's first change starts from New
            old[sc], new[sc] = prev, nw
        private = g.integers(0, 1000, size=total) < np.array([kd[2] for kd in ACTION_KINDS])[kind]
        # about 8% were edited later: last_updated between their datetime and the ticket's last_update
        alu = dt.copy()
        edited = g.random(total) < 0.08
        tl = self.lu[:n][tix]
        if edited.any():
            d = dt[edited]
            alu[edited] = np.clip(sql_round(d + ((tl[edited] - d) * g.random(int(edited.sum()))).astype(np.int64)),
                                  d, np.maximum(tl[edited], d))
        return _Actions(tix=tix, aid=(pos + 1).astype(np.int32), dt=dt.astype(np.int64), lu=alu.astype(np.int64),
                        kind=kind, private=private, old=old, new=new, edits=edited.astype(np.int32),
                        gone=np.zeros(total, bool), starts=starts, n_gen=n, next_id=(counts + 1).astype(np.int64))

    @property
    def action_count(self) -> int:
        """Live actions of live tickets (generates the actions)."""
        with self.lock:
            a = self._actions()
            return int(np.count_nonzero(~a.gone & ~self.deleted[a.tix]))

    def _ticket_positions(self, a: "_Actions", j: int) -> np.ndarray:
        p = np.arange(a.starts[j], a.starts[j + 1], dtype=np.int64) if j < a.n_gen else np.zeros(0, np.int64)
        extra = a.extra.get(j)
        if extra:
            p = np.concatenate([p, np.array(extra, np.int64)])
        return p

    def action_query(self, f: dict) -> np.ndarray:
        """Positions of matching actions, in order. ``f``: ``ticket`` (index) or ``start``/``end``
        (microseconds, inclusive, on ``datetime``), ``excludesys``, ``excludeprivate``, ``order``
        ("datetime" or None = ticket_id, id), ``desc``. Deleted actions and deleted tickets' are never
        listed (Q37)."""
        key = tuple(sorted(f.items()))
        with self.lock:
            hit = self._aqcache.get(key)
            if hit is not None:
                return hit
            a = self._actions()
            j, start, end = f.get("ticket"), f.get("start"), f.get("end")
            if j is not None:
                idx = self._ticket_positions(a, j) if 0 <= j < self.count else np.zeros(0, np.int64)
                if start is not None:
                    idx = idx[a.dt[idx] * 1000 >= start]
                if end is not None:
                    idx = idx[a.dt[idx] * 1000 <= end]
            else:  # a datetime range: binary search in the datetime-sorted index
                if a.dt_order is None:
                    a.dt_order = np.argsort(a.dt, kind="stable")
                    a.dt_sorted = a.dt[a.dt_order]
                lo = int(np.searchsorted(a.dt_sorted, -(-start // 1000), "left"))  # ceil(us / 1000)
                hi = int(np.searchsorted(a.dt_sorted, end // 1000, "right"))
                idx = a.dt_order[lo:max(lo, hi)]
            keep = ~a.gone[idx]
            if j is None or self.deleted_ticket_actions != "listed":  # Q43
                keep &= ~self.deleted[a.tix[idx]]
            if f.get("excludesys"):
                keep &= ~KIND_IS_SYSTEM[a.kind[idx]]
            if f.get("excludeprivate"):
                keep &= ~a.private[idx]
            idx = idx[keep]
            keys = (a.aid[idx], a.tix[idx]) + ((a.dt[idx],) if f.get("order") == "datetime" else ())
            idx = idx[np.lexsort(keys)]
            if f.get("desc"):
                idx = idx[::-1]
            if len(self._aqcache) > 64:
                self._aqcache.clear()
            self._aqcache[key] = idx
            return idx

    def action_position(self, tid: int, aid: int) -> int | None:
        """Position of action ``aid`` of ticket ``tid`` (live ticket, live action), or None."""
        with self.lock:
            j = self.index_of(tid)
            if j is None or self.deleted[j]:
                return None
            a = self._actions()
            p = self._ticket_positions(a, j)
            p = p[(a.aid[p] == aid) & ~a.gone[p]]
            return int(p[0]) if len(p) else None

    def _ahash(self, tid: int, aid: int) -> int:
        h = ((tid * 0x9E3779B97F4A7C15) ^ (aid * 0xBF58476D1CE4E5B9) ^ (self.seed * 0x94D049BB133111EB)) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
        h = (h * 0xD6E8FEB86659FD93) & 0xFFFFFFFFFFFFFFFF
        return h ^ (h >> 32)

    def action_row(self, p: int, html_note: bool = False, html_email: bool = False) -> dict:
        """The action at position ``p`` as a GET /api/Actions list row (Q36); ``note_html`` only with
        ``html_note``, ``emailbody_html`` only with ``html_email``."""
        a = self._acts
        j, aid, k = int(a.tix[p]), int(a.aid[p]), int(a.kind[p])
        tid = j + 1
        oid, who_kind = ACTION_KINDS[k][0], ACTION_KINDS[k][1]
        h = self._ahash(tid, aid)
        info = self._variant(self._variant_of(tid))[1]
        user = info["user"]
        dt, edits = int(a.dt[p]), int(a.edits[p])
        if who_kind == "agent":
            agent = self.ref.agents[1 + h % (len(self.ref.agents) - 1)]  # agents 2.., the disabled ones too
            who, who_type, who_agentid, by_user = agent[1], 1, agent[0], 0
        elif who_kind == "user":
            who, who_type, who_agentid, by_user = f"{user[1]} {user[2]}", 2, 0, user[0]
        else:
            who, who_type, who_agentid, by_user = "System", 0, 0, 0
        minutes = 5 + (h >> 8) % 236
        tt = {K_TIME: minutes / 60, K_PHONE: (1 + minutes % 20) / 60,
              K_NOTE: 0.25 if (h >> 16) % 4 == 0 else 0.0}.get(k, 0.0)
        tt = round(tt, 4)
        arrival = max(int(self.occ[j]), sql_round(dt - int(tt * 3_600_000))) if tt else dt
        old, new = int(a.old[p]), int(a.new[p])
        fields = {"first": user[1], "last": user[2], "email": user[4], "phone": user[5], "sub": info["sub"],
                  "n": 1000 + h % 9000}
        if k == K_LOGGED:
            note = (f"Ticket logged by {user[1]} {user[2]} <{user[4]}> via "
                    f"{('email', 'the portal', 'phone')[h % 3]}: {info['cat']} / {info['sub']}")
        elif k == K_STATUS:
            note = f"Status changed from {STATUS_NAMES.get(old, '')} to {STATUS_NAMES.get(new, '')}"
        elif k == K_HOLD:
            note = f"SLA timer on hold ({STATUS_NAMES.get(new, 'Awaiting User')})"
        elif k == K_RELEASE:
            note = "SLA timer released"
        elif k == K_ESCALATE:
            note = "Escalated to 2nd Line Support"
        elif k == K_TIME:
            note = f"Worked on {info['sub']}: {minutes} min."
        elif k == K_PHONE:
            note = f"Phoned {user[1]} on {user[5]} ({1 + minutes % 20} min)."
        else:
            text = ACTION_NOTES[(h >> 24) % len(ACTION_NOTES)].format(**fields)
            if k == K_EMAIL_OUT:
                note = f"Hi {user[1]},\n\n{text}\n\nKind regards,\nService Desk"
            elif k == K_EMAIL_IN:
                note = f"Hello, any news on this?\n{user[1]} {user[2]}\nTel: {user[5]}"
            else:
                note = text
        if (h >> 20) % 60 == 11:  # planted PII (PLANTED_PII)
            note += "\n" + PLANTED_NOTES[(h >> 28) % len(PLANTED_NOTES)]
        if edits:  # Q39: an edit changes the note
            note += f"\n[edited {edits}x]"
        prefix = TYPE_PREFIX[int(self.ttype[j])]
        mail_from = mail_to = subject = ""
        if k in EMAIL_KINDS:
            desk = "servicedesk@halo-demo.example.com"
            mail_from, mail_to = (desk, user[4]) if k == K_EMAIL_OUT else (user[4], desk)
            subject = f"{'Re: ' if k == K_EMAIL_IN else ''}[{prefix}-{tid}] {info['cat']} / {info['sub']}"
        row = {
            "ticket_id": tid,
            "id": aid,
            "outcome": OUTCOME_NAME[oid],
            "outcome_id": oid,
            "action_systemid": OUTCOME_SYSTEMID[oid],
            "who": who,
            "who_type": who_type,
            "who_agentid": who_agentid,
            "datetime": fmt_ms(dt),
            "actiondatecreated": fmt_ms(dt),
            "actionarrivaldate": fmt_ms(arrival),
            "actioncompletiondate": fmt_ms(dt),
            "last_updated": fmt_ms(int(a.lu[p])),
            "note": note,
            "hiddenfromuser": bool(a.private[p]),
            "important": (h >> 40) % 40 == 0,
            "timetaken": tt,
            "nonbilltime": 0.0,
            "actisbillable": k == K_TIME,
            "chargerate": 1 if k == K_TIME else 0,
            "old_status": old,
            "new_status": new,
            "new_status_name": STATUS_NAMES.get(new, ""),
            "emailfrom": mail_from,
            "emailto": mail_to,
            "emailsubject": subject,
            "attachment_count": 1 if k in EMAIL_KINDS and (h >> 48) % 5 == 0 else 0,
            "actionby_agent_id": who_agentid,
            "actionby_user_id": by_user,
            "unread": 0,
            "personal_unread": False,
            "colour": "#2bd3c6" if who_type == 1 else "#8a8a8a",
            "guid": str(uuid.UUID(int=(h << 64 | (h * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF)) & (2**128 - 1), version=4)),
        }
        if html_note:
            row["note_html"] = "<p>" + _html_text(note) + "</p>"
        if html_email:
            row["emailbody_html"] = (f"<html><body><p>{_html_text(note)}</p></body></html>" if k in EMAIL_KINDS else "")
        return row

    def action_bytes(self, p: int, html_note: bool = False, html_email: bool = False) -> bytes:
        return orjson.dumps(self.action_row(p, html_note, html_email))

    def actions(self, tid: int) -> list:
        """Every live action of ticket ``tid`` as served (no html fields), by id."""
        j = self.index_of(tid)
        if j is None:
            return []
        with self.lock:
            return [self.action_row(int(p)) for p in self.action_query({"ticket": j})]

    def actions_truth(self, include_deleted: bool = False) -> dict:
        """Ground truth: {(ticket_id, id): row as served, without html fields}; the actions of deleted
        tickets only with ``include_deleted`` (deleted actions never)."""
        with self.lock:
            a = self._actions()
            keep = ~a.gone if include_deleted else ~a.gone & ~self.deleted[a.tix]
            idx = np.flatnonzero(keep)
            idx = idx[np.lexsort((a.aid[idx], a.tix[idx]))]
            return {(int(a.tix[p]) + 1, int(a.aid[p])): self.action_row(int(p)) for p in idx}

    def _add_actions(self, items: list, now: int) -> list:
        """Append actions (Q39): ``items`` = [(ticket index, kind, old status, new status)], all at
        ``now``, each with the next id of its ticket; the tickets' last_update and lastactiondate move to
        ``now``. Returns [[ticket_id, id], ...]."""
        if not items:
            return []
        a = self._actions()
        rng = self._act_mut_rng
        base = len(a.tix)
        js = np.array([it[0] for it in items], np.int32)
        kinds = np.array([it[1] for it in items], np.int8)
        aids = np.zeros(len(items), np.int32)
        for i, j in enumerate(js):
            aids[i] = a.next_id[j]
            a.next_id[j] += 1
            a.extra.setdefault(int(j), []).append(base + i)
        private = np.array([rng.randrange(1000) < ACTION_KINDS[k][2] for k in kinds], bool)
        stamp = np.full(len(items), now, np.int64)
        a.tix = np.concatenate([a.tix, js])
        a.aid = np.concatenate([a.aid, aids])
        a.dt = np.concatenate([a.dt, stamp])
        a.lu = np.concatenate([a.lu, stamp])
        a.kind = np.concatenate([a.kind, kinds])
        a.private = np.concatenate([a.private, private])
        a.old = np.concatenate([a.old, np.array([it[2] for it in items], np.int8)])
        a.new = np.concatenate([a.new, np.array([it[3] for it in items], np.int8)])
        a.edits = np.concatenate([a.edits, np.zeros(len(items), np.int32)])
        a.gone = np.concatenate([a.gone, np.zeros(len(items), bool)])
        a.dt_order = a.dt_sorted = None
        self.lu[js] = now
        self.last_act[js] = now
        return [[int(j) + 1, int(i)] for j, i in zip(js, aids)]

    def _live_actions(self) -> np.ndarray:
        a = self._acts
        return np.flatnonzero(~a.gone & ~self.deleted[a.tix])

