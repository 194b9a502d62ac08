"""Behaviour of the Halo API simulator itself (quirk numbers refer to halo_simulator/quirks.py)."""
import re
import socket
import subprocess
import sys
import time

import pytest
import requests

from integration_tests.halo_simulator import HaloSimulator
from integration_tests.halo_simulator.data import fmt_ms, parse_dt_us

DT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?$")


def token(sim, session=None, **form):
    data = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret",
            "scope": "all", **form}
    r = (session or requests).post(sim.base_url + "/auth/token", params={"tenant": "demo"}, data=data, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture(scope="module")
def shared():
    with HaloSimulator(tickets=600, seed=7) as sim:
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + token(sim)
        yield sim, s


def get(shared, path, **params):
    sim, s = shared
    return s.get(sim.base_url + path, params=params, timeout=10)


def all_ids(shared, **params):
    ids, page = [], 1
    while True:
        body = get(shared, "/api/Tickets", pageinate="true", page_size=100, page_no=page, **params).json()
        ids += [t["id"] for t in body["tickets"]]
        if len(body["tickets"]) < 100:
            return ids, body["record_count"]
        page += 1


# ---------------------------------------------------------------- auth (Q1-Q6)
def test_token_response_shape(simulator):
    sim = simulator(tickets=10, token_ttl=1234)
    r = requests.post(sim.base_url + "/auth/token?tenant=demo", data={
        "grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret",
        "scope": "read:tickets read:customers"})
    body = r.json()
    assert r.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token", "id_token"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1234
    assert body["scope"] == "read:tickets read:customers"
    assert sim.issued_tokens == [body["access_token"]]
    assert "client_secret" not in str(sim.request_log)
    assert "demo-secret" not in str(sim.request_log)


def test_token_errors(simulator):
    sim = simulator(tickets=10)
    url = sim.base_url + "/auth/token"
    base = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret", "scope": "all"}
    r = requests.post(url, data={**base, "client_secret": "wrong"})
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client", "error_description": "The specified client credentials are invalid."}
    assert requests.post(url, data={**base, "client_id": "nobody"}).status_code == 401
    r = requests.post(url, data={**base, "grant_type": "password"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = requests.post(url, data={**base, "scope": "read:tickets read:users"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = requests.post(url, params={"tenant": "other"}, data=base)
    assert r.status_code == 500 and r.json()["ClassName"].startswith("System.")
    sim.configure(wrong_tenant_status=401)
    assert requests.post(url, params={"tenant": "other"}, data=base).status_code == 401
    assert requests.post(url, data=base).status_code == 200  # tenant optional
    sim.configure(require_tenant=True)
    assert requests.post(url, data=base).status_code == 401
    assert requests.post(url, params={"tenant": "DEMO"}, data=base).status_code == 200
    # HTTP Basic client authentication
    r = requests.post(url, data={"grant_type": "client_credentials", "scope": "all"},
                      params={"tenant": "demo"}, auth=("demo-client", "demo-secret"))
    assert r.status_code == 200


def test_bearer_required_and_authinfo(simulator):
    sim = simulator(tickets=10)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = requests.get(sim.base_url + "/api/Tickets", headers=headers)
        assert r.status_code == 401 and r.content == b""
        assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    r = requests.get(sim.base_url + "/api/authinfo")
    assert r.status_code == 200 and r.json()["tenant_id"] == "demo"
    assert r.json()["auth_url"] == sim.base_url + "/auth"


def test_token_expiry_and_max_uses(simulator):
    sim = simulator(tickets=10, token_ttl=1)
    h = {"Authorization": "Bearer " + token(sim)}
    assert requests.get(sim.base_url + "/api/Status", headers=h).status_code == 200
    time.sleep(1.1)
    assert requests.get(sim.base_url + "/api/Status", headers=h).status_code == 401
    sim.configure(token_ttl=3600, token_max_uses=2)
    h = {"Authorization": "Bearer " + token(sim)}
    codes = [requests.get(sim.base_url + "/api/Status", headers=h).status_code for _ in range(3)]
    assert codes == [200, 200, 401]
    sim.configure(token_max_uses=0)
    h = {"Authorization": "Bearer " + token(sim)}
    sim.invalidate_tokens()
    assert requests.get(sim.base_url + "/api/Status", headers=h).status_code == 401


# ---------------------------------------------------------------- tickets list (Q7-Q19)
def test_paging_shape_and_cap(shared):
    sim, _ = shared
    body = get(shared, "/api/Tickets", pageinate="true", page_size=500, page_no=1).json()
    assert list(body) == ["page_no", "page_size", "record_count", "tickets", "include_children"]
    assert body["page_no"] == 1 and body["page_size"] == 100 and len(body["tickets"]) == 100
    assert body["record_count"] == len(sim.truth())
    assert body["include_children"] is False
    ids, total = all_ids(shared)
    assert len(ids) == len(set(ids)) == total == len(sim.truth())
    past = get(shared, "/api/Tickets", pageinate="true", page_size=100, page_no=999).json()
    assert past["tickets"] == [] and past["record_count"] == total
    sim.configure(echo_requested_page_size=True)
    try:
        assert get(shared, "/api/Tickets", pageinate="true", page_size=500).json()["page_size"] == 500
    finally:
        sim.configure(echo_requested_page_size=False)


def test_unpaged_and_count(shared):
    body = get(shared, "/api/Tickets").json()
    assert list(body) == ["record_count", "tickets", "include_children"]
    assert len(body["tickets"]) == 50 and body["record_count"] > 50
    assert len(get(shared, "/api/Tickets", count=173).json()["tickets"]) == 173


def test_paths_case_insensitive_and_unknown_params(shared):
    a = get(shared, "/api/tickets", pageinate="true", page_size=5).json()
    b = get(shared, "/API/TICKETS", PageInate="true", PAGE_SIZE=5, tickettype_id=2, whatever="x").json()
    assert a == b


def test_default_order_is_not_by_id(shared):
    rows = get(shared, "/api/Tickets", pageinate="true", page_size=100).json()["tickets"]
    ids = [t["id"] for t in rows]
    assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
    occ = [t["dateoccurred"] for t in rows]
    assert [parse_dt_us(x) for x in occ] == sorted((parse_dt_us(x) for x in occ), reverse=True)


def test_order_params(shared):
    ids, _ = all_ids(shared, order="id")
    assert ids == sorted(ids)
    rows = get(shared, "/api/Tickets", pageinate="true", page_size=100, order="last_update", orderdesc="true").json()["tickets"]
    lus = [parse_dt_us(t["last_update"]) for t in rows]
    assert lus == sorted(lus, reverse=True)
    rows = get(shared, "/api/Tickets", pageinate="true", page_size=100, order="dateoccurred").json()["tickets"]
    occ = [parse_dt_us(t["dateoccurred"]) for t in rows]
    assert occ == sorted(occ)


def test_requesttype_filters(shared):
    sim, _ = shared
    truth = sim.truth()
    ids, total = all_ids(shared, requesttype_id=2)
    assert set(ids) == {i for i, t in truth.items() if t["tickettype_id"] == 2} and total == len(ids)
    ids, _ = all_ids(shared, requesttype="1,3")
    assert set(ids) == {i for i, t in truth.items() if t["tickettype_id"] in (1, 3)}
    ids, _ = all_ids(shared, tickettype_id=2)  # not a Halo parameter: ignored (Q8)
    assert len(ids) == len(truth)


def test_open_closed_deleted(shared):
    sim, _ = shared
    truth = sim.truth(include_deleted=True)
    o, _ = all_ids(shared, open_only="true")
    c, _ = all_ids(shared, closed_only="true")
    d, _ = all_ids(shared, deleted="true")
    live = {i for i, t in truth.items() if not t["deleted"]}
    assert set(o) | set(c) == live and not set(o) & set(c)
    assert set(d) == {i for i, t in truth.items() if t["deleted"]} and d
    rows = get(shared, "/api/Tickets", count=1000, open_only="true").json()["tickets"]
    assert all(t["dateclosed"] == "1900-01-01T00:00:00" and not t["hasbeenclosed"] for t in rows)


@pytest.mark.parametrize("from_op,to_op", [(">=", "<="), (">", "<")])
def test_lastupdate_filters(shared, from_op, to_op):
    sim, _ = shared
    truth = sim.truth()
    lus = sorted({t["last_update"] for t in truth.values()})
    lo, hi = lus[len(lus) // 4], lus[3 * len(lus) // 4]
    sim.configure(lastupdate_from_op=from_op, lastupdate_to_op=to_op)
    try:
        for fmt in (lambda s: s, lambda s: s + "Z"):
            ids, total = all_ids(shared, lastupdatefromdate=fmt(lo), lastupdatetodate=fmt(hi))
            ok_lo = (lambda v: v >= parse_dt_us(lo)) if from_op == ">=" else (lambda v: v > parse_dt_us(lo))
            ok_hi = (lambda v: v <= parse_dt_us(hi)) if to_op == "<=" else (lambda v: v < parse_dt_us(hi))
            want = {i for i, t in truth.items() if ok_lo(parse_dt_us(t["last_update"])) and ok_hi(parse_dt_us(t["last_update"]))}
            assert set(ids) == want and total == len(want)
    finally:
        sim.configure(lastupdate_from_op=">=", lastupdate_to_op="<=")


def test_date_param_formats_and_bad_dates(shared):
    n = {}
    for v in ("2020-01-01", "2020-01-01T00:00:00", "2020-01-01T00:00:00.000Z", "2020-01-01T00:00:00.123456Z"):
        n[v] = get(shared, "/api/Tickets", lastupdatefromdate=v).json()["record_count"]
    assert len(set(n.values())) == 1
    r = get(shared, "/api/Tickets", lastupdatefromdate="yesterday")
    assert r.status_code == 400


def test_datesearch(shared):
    sim, _ = shared
    truth = sim.truth()
    occ = sorted(parse_dt_us(t["dateoccurred"]) for t in truth.values())
    start, end = fmt_ms(occ[100] // 1000), fmt_ms(occ[300] // 1000)
    for spelling in ("dateoccured", "dateoccurred"):
        ids, _ = all_ids(shared, datesearch=spelling, startdate=start, enddate=end)
        assert set(ids) == {i for i, t in truth.items() if parse_dt_us(start) <= parse_dt_us(t["dateoccurred"]) <= parse_dt_us(end)}
    a, _ = all_ids(shared, datesearch="datecleared", startdate="2000-01-01", enddate="2100-01-01")
    b, _ = all_ids(shared, datesearch="dateclosed", startdate="2000-01-01", enddate="2100-01-01")
    c, _ = all_ids(shared, closed_only="true")
    assert set(a) == set(b) == set(c)


def test_record_fields_and_datetimes(shared):
    rows = get(shared, "/api/Tickets", pageinate="true", page_size=100).json()["tickets"]
    t = rows[0]
    for k in ("id", "dateoccurred", "summary", "details", "status_id", "tickettype_id", "sla_id", "priority_id",
              "client_id", "client_name", "site_id", "user_id", "team_id", "team", "agent_id", "category_1",
              "lastactiondate", "last_update", "lastincomingemail", "targetdate", "deadlinedate", "guid", "viewers"):
        assert k in t
    assert 95 <= len(t) <= 130
    assert "customfields" not in t
    sentinels = {"1900-01-01T00:00:00", "0001-01-01T00:00:00", "1899-12-30T00:00:00"}
    for row in rows:
        for k in ("dateoccurred", "last_update", "lastactiondate", "lastincomingemail", "dateclosed", "targetdate"):
            assert DT_RE.match(row[k]) and not row[k].endswith("0") or row[k] in sentinels or "." not in row[k], row[k]
    assert any(r["lastincomingemail"] == "0001-01-01T00:00:00" for r in rows)
    text = " ".join(r["details"] for r in rows)
    assert "@" in text and re.search(r"\+\d", text) and any(ord(ch) > 127 for ch in text)
    cf = get(shared, "/api/Tickets", pageinate="true", page_size=3, include_custom_fields="165,166").json()["tickets"]
    assert all(isinstance(r["customfields"], list) and r["customfields"][0]["id"] == 165 for r in cf)


def test_clusters_share_a_second():
    sim = HaloSimulator(tickets=5000, seed=3)
    seconds = {}
    for t in sim.truth().values():
        seconds.setdefault(t["last_update"][:19], 0)
        seconds[t["last_update"][:19]] += 1
    assert max(seconds.values()) > 100  # more than a page of tickets in one second


def test_single_ticket_and_other_endpoints(shared):
    sim, _ = shared
    tid = next(iter(sim.truth()))
    t = get(shared, f"/api/Tickets/{tid}").json()
    assert t["id"] == tid and isinstance(t["customfields"], list) and "details_html" in t
    assert t["priority"]["priorityid"] == t["priority_id"] and len(t["priority"]["id"]) == 36
    assert get(shared, "/api/Tickets/99999999").status_code == 404
    tt = get(shared, "/api/TicketType").json()
    assert isinstance(tt, list) and {x["id"]: x["name"] for x in tt}[1] == "Incident"
    assert isinstance(get(shared, "/api/Status").json(), list)
    assert isinstance(get(shared, "/api/Team").json(), list)
    assert "priorityid" in get(shared, "/api/Priority").json()[0]
    assert isinstance(get(shared, "/api/SLA").json(), list)
    assert isinstance(get(shared, "/api/FieldInfo").json(), list)
    agents = get(shared, "/api/Agent", includeunassigned="true").json()  # agent 1 only when asked (Q30)
    assert isinstance(agents, list) and agents[0]["id"] == 1
    pa = get(shared, "/api/Agent", pageinate="true", page_size=5, includeunassigned="true").json()
    assert pa["record_count"] == len(agents) and len(pa["results"]) == 5
    cl = get(shared, "/api/Client", pageinate="true", page_size=10, page_no=1).json()
    assert cl["record_count"] > 10 and len(cl["clients"]) == 10
    site = get(shared, "/api/Site").json()["sites"][0]
    assert isinstance(site["client_id"], float)
    user = get(shared, "/api/Users").json()["users"][0]
    assert isinstance(user["site_id"], float) and user["site_id_int"] == int(user["site_id"])
    acts = get(shared, "/api/Actions", ticket_id=tid).json()
    assert acts["record_count"] == len(acts["actions"]) >= 1 and acts["actions"][0]["ticket_id"] == tid
    assert get(shared, "/api/Actions").json() == {"record_count": 0, "actions": []}
    assert get(shared, "/api/NoSuchThing").status_code == 404


# ---------------------------------------------------------------- reference lists (Q29-Q35)
INCLUDE_ALL = {  # the include parameters the connector sends (Q30)
    "/api/TicketType": {"showall": "true", "showinactive": "true"},
    "/api/Team": {"includedisabled": "true", "includeenabled": "true"},
    "/api/Agent": {"includedisabled": "true", "includeenabled": "true", "includeunassigned": "true"},
    "/api/Client": {"includeinactive": "true", "includeactive": "true"},
    "/api/Site": {"includeinactive": "true", "includeactive": "true"},
    "/api/Users": {"includeinactive": "true", "includeactive": "true"},
    "/api/Outcome": {"showhidden": "true"},
}
PAGED = {"/api/Agent": "results", "/api/Client": "clients", "/api/Site": "sites", "/api/Users": "users"}
TRUTH_OF = {"/api/TicketType": "ticket_types", "/api/Team": "teams", "/api/Agent": "agents", "/api/Client": "clients",
            "/api/Site": "sites", "/api/Users": "users", "/api/Outcome": "outcomes", "/api/Status": "statuses",
            "/api/SLA": "slas", "/api/Category": "categories", "/api/FieldInfo": "custom_fields"}


def session_for(sim):
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token(sim, s)
    return s


def read_list(sim, s, path, page_size=100, **params):
    """Every row of a reference list through HTTP, paging where Halo pages; checks record_count."""
    key = PAGED.get(path)
    if key is None:
        body = s.get(sim.base_url + path, params=params, timeout=10).json()
        return body["categories"] if isinstance(body, dict) else body
    rows, page = [], 1
    while True:
        body = s.get(sim.base_url + path, params={"pageinate": "true", "page_size": page_size, "page_no": page, **params},
                     timeout=10).json()
        assert body["page_no"] == page and body["page_size"] == min(page_size, 100)
        rows += body[key]
        if len(rows) >= body["record_count"] or not body[key]:
            assert len(rows) == body["record_count"]
            return rows
        page += 1


def inactive(row):
    return row.get("inactive") is True or row.get("isdisabled") is True or row.get("hidden") is True or row.get("active") is False


def all_tickets(sim, s, **params):
    rows, page = [], 1
    while True:
        body = s.get(sim.base_url + "/api/Tickets", params={"pageinate": "true", "page_size": 100, "page_no": page,
                                                            "order": "id", **params}, timeout=30).json()
        rows += body["tickets"]
        if len(body["tickets"]) < 100:
            return rows
        page += 1


def test_reference_list_shapes(shared):
    sim, _ = shared
    for path in ("/api/Status", "/api/Priority", "/api/SLA", "/api/FieldInfo", "/api/Category"):
        assert isinstance(get(shared, path).json(), list), path
    for path, params in INCLUDE_ALL.items():
        if path not in PAGED:
            assert isinstance(get(shared, path, **params).json(), list), path
    agents = get(shared, "/api/Agent", **INCLUDE_ALL["/api/Agent"]).json()
    assert isinstance(agents, list) and {a["id"] for a in agents} == set(sim.truth("agents"))
    paged = get(shared, "/api/Agent", pageinate="true", page_size=10, page_no=1, **INCLUDE_ALL["/api/Agent"]).json()
    assert paged["record_count"] == len(agents) and [a["id"] for a in paged["results"]] == [a["id"] for a in agents[:10]]
    for path, key in (("/api/Client", "clients"), ("/api/Site", "sites"), ("/api/Users", "users")):
        body = get(shared, path, pageinate="true", page_size=5, page_no=2, **INCLUDE_ALL[path]).json()
        assert list(body) == ["page_no", "page_size", "record_count", key], path
        assert body["page_no"] == 2 and body["page_size"] == 5 and len(body[key]) == 5
        assert body["record_count"] == len(sim.truth(key))
    prio = get(shared, "/api/Priority").json()
    assert all(isinstance(p["priorityid"], int) and len(p["id"]) == 36 for p in prio)
    assert len({p["id"] for p in prio}) == len(prio) and {(p["slaid"], p["priorityid"]) for p in prio} == {
        (s, p) for s in (1, 2) for p in (1, 2, 3, 4)}
    tt = get(shared, "/api/TicketType", **INCLUDE_ALL["/api/TicketType"]).json()
    assert [t for t in tt if not t["active"]] == [t for t in tt if t["id"] == 5] and len(tt) == 5
    outcome = get(shared, "/api/Outcome", showhidden="true").json()[0]
    assert {"id", "outcome", "buttonname", "labellong", "sequence", "hidden", "icon"} <= set(outcome)
    # reference rows: Halo's GET datetimes (Q21) and decimal ids (Q23)
    user = get(shared, "/api/Users", **INCLUDE_ALL["/api/Users"]).json()["users"][0]
    assert isinstance(user["site_id"], float) and user["site_id_int"] == int(user["site_id"]) and isinstance(user["client_id"], int)
    assert DT_RE.match(user["ulastupdate"]) and DT_RE.match(user["datecreated"])
    site = get(shared, "/api/Site").json()["sites"][0]
    assert isinstance(site["client_id"], float) and DT_RE.match(site["slastupdate"])
    client = get(shared, "/api/Client").json()["clients"][0]
    assert DT_RE.match(client["alastupdate"]) and DT_RE.match(client["datecreated"])
    for stream, field in (("users", "ulastupdate"), ("clients", "alastupdate"), ("sites", "slastupdate")):
        values = [r[field] for r in sim.truth(stream).values()]
        assert all(DT_RE.match(v) for v in values) and any("." not in v for v in values) and any("." in v for v in values)
        assert all(v[-1] != "0" for v in values if "." in v)  # trailing zeros trimmed
    # single rows ignore the inactive filters (Q29)
    gone = next(i for i, u in sim.truth("users").items() if u["inactive"])
    assert get(shared, f"/api/Users/{gone}").json()["id"] == gone
    assert get(shared, "/api/Agent/1").json()["name"] == "Unassigned"
    assert get(shared, "/api/Category/101").json()["type_id"] == 2
    assert get(shared, "/api/Outcome/7").json()["hidden"] is True
    assert get(shared, "/api/Users/999999").status_code == 404 and get(shared, "/api/Category/0").status_code == 404


@pytest.mark.parametrize("path", sorted(PAGED))
def test_reference_paging_cap_and_record_count(shared, path):
    sim, s = shared
    truth = sim.truth(TRUTH_OF[path])
    for size in (7, 100, 500):
        rows = read_list(sim, s, path, page_size=size, **INCLUDE_ALL[path])
        ids = [r["id"] for r in rows]
        assert ids == sorted(truth) and len(set(ids)) == len(ids)
    body = get(shared, path, pageinate="true", page_size=500, page_no=1, **INCLUDE_ALL[path]).json()
    assert body["page_size"] == 100 and len(body[PAGED[path]]) == min(100, len(truth))  # silent cap (Q9)
    past = get(shared, path, pageinate="true", page_size=10, page_no=999, **INCLUDE_ALL[path]).json()
    assert past[PAGED[path]] == [] and past["record_count"] == len(truth)
    sim.configure(repeat_last_page=True)
    try:
        last = (len(truth) - 1) // 10 + 1
        a = get(shared, path, pageinate="true", page_size=10, page_no=last, **INCLUDE_ALL[path]).json()[PAGED[path]]
        b = get(shared, path, pageinate="true", page_size=10, page_no=last + 3, **INCLUDE_ALL[path]).json()[PAGED[path]]
        assert a == b and a
    finally:
        sim.configure(repeat_last_page=False)


def test_unpaged_client_site_users_answer_every_row(shared):
    sim, _ = shared
    for path, key in (("/api/Client", "clients"), ("/api/Site", "sites"), ("/api/Users", "users")):
        body = get(shared, path, **INCLUDE_ALL[path]).json()
        assert list(body) == ["record_count", key] and body["record_count"] == len(body[key]) == len(sim.truth(key))
        assert len(get(shared, path, count=3, **INCLUDE_ALL[path]).json()[key]) == 3


@pytest.mark.parametrize("hide", [True, False])
def test_inactive_rows_and_include_parameters(simulator, hide):
    sim = simulator(tickets=50, seed=7, hide_inactive=hide)
    s = session_for(sim)
    assert sim.config()["hide_inactive"] is hide
    for path, params in INCLUDE_ALL.items():
        truth = sim.truth(TRUTH_OF[path])
        dormant = {i for i, r in truth.items() if inactive(r)}
        assert dormant, path  # Q31: every list has some
        everything = {r["id"] for r in read_list(sim, s, path, **params)}
        assert everything == set(truth), path
        bare = {r["id"] for r in read_list(sim, s, path)}
        if hide:
            expected = set(truth) - dormant - ({1} if path == "/api/Agent" else set())
            assert bare == expected, path
        else:
            assert bare == set(truth), path
        incl = {k: v for k, v in params.items() if k.startswith(("includeinactive", "includedisabled", "showinactive", "showhidden"))}
        assert {r["id"] for r in read_list(sim, s, path, **incl)} == set(truth) - (
            {1} if hide and path == "/api/Agent" else set()), path
    # the "active" parameter explicitly false leaves active rows out (Q30)
    only = read_list(sim, s, "/api/Users", includeinactive="true", includeactive="false")
    if hide:
        assert only and all(u["inactive"] for u in only)
    else:
        assert len(only) == len(sim.truth("users"))
    agents = read_list(sim, s, "/api/Agent", includeunassigned="true")
    assert (1 in {a["id"] for a in agents}) and (any(a["isdisabled"] for a in agents) is not hide)
    # a closed client: its sites and users are inactive too (Q31)
    closed = [c for c, r in sim.truth("clients").items() if r["inactive"]]
    assert len(closed) == 3
    assert all(r["inactive"] for r in sim.truth("sites").values() if int(r["client_id"]) in closed)
    assert all(r["inactive"] for r in sim.truth("users").values() if r["client_id"] in closed)


@pytest.mark.parametrize("from_op,to_op", [(">=", "<="), (">", "<")])
def test_reference_lastupdate_filters(shared, from_op, to_op):
    sim, s = shared
    sim.configure(lastupdate_from_op=from_op, lastupdate_to_op=to_op)
    try:
        for path, stream, field in (("/api/Users", "users", "ulastupdate"), ("/api/Client", "clients", "alastupdate"),
                                    ("/api/Site", "sites", "slastupdate")):
            truth = sim.truth(stream)
            lus = sorted({r[field] for r in truth.values()})
            lo, hi = lus[len(lus) // 4], lus[3 * len(lus) // 4]
            ok_lo = (lambda v: v >= parse_dt_us(lo)) if from_op == ">=" else (lambda v: v > parse_dt_us(lo))
            ok_hi = (lambda v: v <= parse_dt_us(hi)) if to_op == "<=" else (lambda v: v < parse_dt_us(hi))
            want = {i for i, r in truth.items() if ok_lo(parse_dt_us(r[field])) and ok_hi(parse_dt_us(r[field]))}
            for fmt in (lambda v: v, lambda v: v + "Z"):
                got = read_list(sim, s, path, page_size=10, lastupdatefromdate=fmt(lo), lastupdatetodate=fmt(hi),
                                **INCLUDE_ALL[path])
                assert {r["id"] for r in got} == want and want, (path, from_op)
            only_from = read_list(sim, s, path, lastupdatefromdate=lo, **INCLUDE_ALL[path])
            assert {r["id"] for r in only_from} == {i for i, r in truth.items() if ok_lo(parse_dt_us(r[field]))}
            assert get(shared, path, lastupdatefromdate="last tuesday").status_code == 400
    finally:
        sim.configure(lastupdate_from_op=">=", lastupdate_to_op="<=")
    # about 1 user in 10 shares one bulk-update time (Q32)
    counts = {}
    for u in sim.truth("users").values():
        counts[u["ulastupdate"]] = counts.get(u["ulastupdate"], 0) + 1
    assert max(counts.values()) >= 10


def test_every_id_a_ticket_carries_resolves_through_the_lists(simulator):
    """Q31: read every list through HTTP with the include parameters; every id any ticket carries
    (deleted tickets too) is a row, with the name the ticket shows. Without the include parameters
    some ids do not resolve."""
    sim = simulator(tickets=2500, seed=11)
    s = session_for(sim)
    lists = {path: {r["id"]: r for r in read_list(sim, s, path, **INCLUDE_ALL.get(path, {}))} for path in TRUTH_OF}
    prios = {(p["slaid"], p["priorityid"]): p for p in read_list(sim, s, "/api/Priority")}
    tickets = all_tickets(sim, s) + all_tickets(sim, s, deleted="true")
    assert len(tickets) == len(sim.truth(include_deleted=True))
    refs = {"agent_id": ("/api/Agent", "agent_name", "name"), "team_id": ("/api/Team", "team", "name"),
            "status_id": ("/api/Status", "status_name", "name"), "client_id": ("/api/Client", "client_name", "name"),
            "site_id": ("/api/Site", "site_name", "name"), "user_id": ("/api/Users", "user_name", "name"),
            "sla_id": ("/api/SLA", "sla_name", "name"), "tickettype_id": ("/api/TicketType", "tickettype_name", "name")}
    carried = {k: set() for k in refs}
    for t in tickets:
        for field, (path, name_field, row_name) in refs.items():
            row = lists[path].get(t[field])
            assert row is not None, (t["id"], field, t[field])
            assert row[row_name] == t[name_field], (t["id"], field)
            carried[field].add(t[field])
        assert prios[(t["sla_id"], t["priority_id"])]["name"] == t["priority_name"]
        site, user = lists["/api/Site"][t["site_id"]], lists["/api/Users"][t["user_id"]]
        assert int(site["client_id"]) == t["client_id"] and user["site_id_int"] == t["site_id"]
        for n in (1, 2, 3, 4):
            cid = t[f"categoryid_{n}"]
            if cid == 0:
                assert t[f"category_{n}"] == ""
            else:
                cat = lists["/api/Category"][cid]
                assert cat["type_id"] == n and cat["value"] == t[f"category_{n}"], (t["id"], n)
    assert {t["categoryid_3"] for t in tickets} - {0} and {t["categoryid_4"] for t in tickets} - {0}
    # tickets carry inactive rows (and agent 1): without the include parameters they would not resolve
    bare = {path: {r["id"] for r in read_list(sim, s, path)} for path in INCLUDE_ALL if path != "/api/Outcome"}
    for field, path in (("agent_id", "/api/Agent"), ("team_id", "/api/Team"), ("client_id", "/api/Client"),
                        ("site_id", "/api/Site"), ("user_id", "/api/Users"), ("tickettype_id", "/api/TicketType")):
        unresolved = carried[field] - bare[path]
        assert unresolved and all(inactive(lists[path][i]) or i == 1 for i in unresolved), (field, unresolved)
    assert 1 in carried["agent_id"] - bare["/api/Agent"]


def test_category_shapes_and_type_filter(simulator):
    sim = simulator(tickets=20)
    s = session_for(sim)
    u = sim.base_url + "/api/Category"
    cats = s.get(u).json()
    assert isinstance(cats, list) and {c["id"]: c for c in cats} == sim.truth("categories")
    assert {c["type_id"] for c in cats} == {1, 2, 3, 4}
    assert all({"id", "guid", "value", "category_name", "type_id", "sla_id", "priority_id"} <= set(c) for c in cats)
    assert {c["type_id"] for c in s.get(u, params={"type_id": 3}).json()} == {3}
    sim.configure(category_shape="object")
    body = s.get(u).json()
    assert list(body) == ["record_count", "categories"] and body["categories"] == cats and body["record_count"] == len(cats)
    sim.configure(category_shape="array")
    assert s.get(u).json() == cats
    with pytest.raises(ValueError):
        sim.configure(category_shape="dict")
    assert requests.post(sim.base_url + "/_sim/config", json={"category_shape": "object"}).json()["category_shape"] == "object"


def test_custom_field_definitions(shared):
    fi = {f["id"]: f for f in get(shared, "/api/FieldInfo").json()}
    assert {i: (f["name"], f["type"]) for i, f in fi.items()} == {
        165: ("CFimpact", 2), 166: ("CFcostCentre", 0), 167: ("CFdueDate", 4), 168: ("CFcallbackNumber", 0),
        169: ("CFinternalNotes", 1), 170: ("CFvip", 6), 171: ("CFaffectedUsers", 0), 172: ("CFhoursLost", 0)}
    assert fi[171]["inputtype"] == 1 and fi[172]["inputtype"] == 4 and fi[166]["inputtype"] == 0
    assert [v["id"] for v in fi[165]["values"]] == [1, 2, 3] and all(f["typeid"] == 1 for f in fi.values())
    assert get(shared, "/api/FieldInfo/167").json()["label"] == "Due date"


def check_custom_field_entry(entry, truth_values, definitions):
    fid = entry["id"]
    d = definitions[fid]
    assert (entry["name"], entry["label"], entry["type"]) == (d["name"], d["label"], d["type"])
    if fid not in truth_values:
        assert entry["value"] is None and entry["display"] == ""
        return
    v = entry["value"]
    assert v == truth_values[fid]
    if d["type"] == 2:
        assert isinstance(v, int) and entry["display"] == {o["id"]: o["name"] for o in d["values"]}[v]
    elif d["type"] == 4:
        assert DT_RE.match(v) and re.match(r"^\d\d/\d\d/\d{4}$", entry["display"])
    elif d["type"] == 6:
        assert isinstance(v, bool) and entry["display"] == ("Yes" if v else "No")
    elif d["inputtype"] == 1:
        assert isinstance(v, int) and not isinstance(v, bool)
    elif d["inputtype"] == 4:
        assert isinstance(v, float)
    else:
        assert isinstance(v, str) and v


def test_custom_fields_on_the_list_and_on_a_ticket(simulator):
    sim = simulator(tickets=400, seed=5)
    s = session_for(sim)
    definitions = {f["id"]: f for f in sim.truth("custom_fields").values()}
    truth = sim.truth("ticket_custom_fields")
    assert set(truth) == set(sim.truth())
    assert any(not v for v in truth.values()) and any(len(v) == len(definitions) for v in truth.values())
    for fid in definitions:  # every field has a value on some tickets and none on others
        assert 0 < sum(fid in v for v in truth.values()) < len(truth), fid
    everything = ",".join(map(str, definitions))
    for ask in ("165,167", "170,165,171,172", everything, "167,9999,166"):
        wanted = [int(x) for x in ask.split(",") if int(x) in definitions]
        rows = all_tickets(sim, s, include_custom_fields=ask)
        assert len(rows) == len(truth)
        for t in rows:
            assert [e["id"] for e in t["customfields"]] == wanted
            for e in t["customfields"]:
                check_custom_field_entry(e, truth[t["id"]], definitions)
    assert all("customfields" not in t for t in all_tickets(sim, s))
    assert all(t["customfields"] == [] for t in get((sim, s), "/api/Tickets", pageinate="true", page_size=5,
                                                     include_custom_fields="9999").json()["tickets"])
    blank = next(i for i, v in truth.items() if not v)
    detail = get((sim, s), f"/api/Tickets/{blank}").json()
    assert [e["id"] for e in detail["customfields"]] == list(definitions)
    assert all(e["value"] is None for e in detail["customfields"])
    full = next(i for i, v in truth.items() if len(v) == len(definitions))
    for e in get((sim, s), f"/api/Tickets/{full}").json()["customfields"]:
        check_custom_field_entry(e, truth[full], definitions)
    # an instance that ignores include_custom_fields on the list (Q18)
    sim.configure(ignore_include_custom_fields=True)
    assert all("customfields" not in t for t in all_tickets(sim, s, include_custom_fields="165,167"))
    assert len(get((sim, s), f"/api/Tickets/{full}").json()["customfields"]) == len(definitions)
    sim.configure(ignore_include_custom_fields=False)
    assert all(len(t["customfields"]) == 2 for t in all_tickets(sim, s, include_custom_fields="165,167"))
    # values survive a ticket update (the cache of rendered rows is dropped for it)
    changed = sim.mutate(update=3)
    rows = {t["id"]: t for t in all_tickets(sim, s, include_custom_fields=everything)}
    for tid in changed:
        for e in rows[tid]["customfields"]:
            check_custom_field_entry(e, truth[tid], definitions)
    http = requests.get(sim.base_url + "/_sim/truth", params={"stream": "ticket_custom_fields"}).json()
    assert {int(k): {int(f): v for f, v in d.items()} for k, d in http.items()} == truth


def test_reference_truth_api_and_control_path(simulator):
    sim = simulator(tickets=30, seed=3)
    users = sim.truth("users")
    assert users == sim.truth("user") == sim.truth("Users") and any(u["inactive"] for u in users.values())
    prios = sim.truth("priorities")
    assert set(prios) == {1, 2, 3, 4} and all(set(v) == {1, 2} for v in prios.values())
    assert prios[1][2]["priorityid"] == 1 and prios[1][2]["slaid"] == 2
    assert set(sim.truth("ticket_types")) == {1, 2, 3, 4, 5} and sim.truth("agents")[1]["name"] == "Unassigned"
    assert set(sim.truth("custom_fields")) == set(range(165, 173))
    for stream in ("users", "clients", "sites", "agents", "teams", "statuses", "ticket_types", "slas", "categories",
                   "outcomes", "custom_fields", "priorities", "tickets"):
        http = requests.get(sim.base_url + "/_sim/truth", params={"stream": stream}).json()
        local = sim.truth(stream)
        assert set(map(int, http)) == set(local), stream
        if stream not in ("priorities", "tickets"):
            assert all(http[str(k)] == v for k, v in local.items()), stream
    assert requests.get(sim.base_url + "/_sim/truth").json() == requests.get(sim.base_url + "/_sim/truth?stream=tickets").json()
    with pytest.raises(ValueError):
        sim.truth("nope")
    assert requests.get(sim.base_url + "/_sim/truth?stream=nope").status_code == 400
    assert sim.request_log == []  # the control path is never logged


def test_reference_mutations(simulator):
    sim = simulator(tickets=100, seed=9, hide_inactive=False)
    s = session_for(sim)
    fields = {"users": "ulastupdate", "clients": "alastupdate", "sites": "slastupdate"}
    paths = {"users": "/api/Users", "clients": "/api/Client", "sites": "/api/Site"}
    before = {k: sim.truth(k) for k in fields}
    newest = {k: max(parse_dt_us(r[fields[k]]) for r in before[k].values()) for k in fields}
    tickets_before = sim.truth()
    assert sim.mutate(users=6, clients=2, sites=3) == []  # no ticket changed
    res = sim.mutations[-1]
    assert [len(res[k]) for k in ("users", "clients", "sites")] == [6, 2, 3] and res["updated"] == []
    assert sim.truth() == tickets_before
    for k, field in fields.items():
        after = sim.truth(k)
        assert set(after) == set(before[k])
        moved = {i for i in after if after[i][field] != before[k][i][field]}
        assert moved == set(res[k])
        assert all(parse_dt_us(after[i][field]) >= newest[k] for i in moved)
        assert all(after[i] == before[k][i] for i in set(after) - moved)
        # an incremental read from the previous newest value sees exactly the moved rows
        got = {r["id"] for r in read_list(sim, s, paths[k], lastupdatefromdate=fmt_ms(newest[k] // 1000))}
        assert moved <= got and got - moved <= {i for i in after if parse_dt_us(after[i][field]) == newest[k]}
    r = requests.post(sim.base_url + "/_sim/mutate", json={"users": 2, "sites": 1, "update": 1}).json()
    assert len(r["users"]) == 2 and len(r["sites"]) == 1 and r["clients"] == [] and len(r["ids"]) == 1
    assert requests.post(sim.base_url + "/_sim/mutate", json={"agents": 1}).status_code == 400
    # one mutated row in five also flips inactive
    touched = set()
    for _ in range(10):
        sim.mutate(users=10)
        touched |= set(sim.mutations[-1]["users"])
    flipped = {i for i, u in sim.truth("users").items() if u["inactive"] != before["users"][i]["inactive"]}
    assert flipped and flipped <= touched | set(res["users"]) | set(r["users"])


def test_reference_mutation_schedule(simulator):
    sim = simulator(tickets=50, mutate_schedule=["1:users=3:path=/api/users", {"after": 2, "clients": 1, "path": "/API/Client/"}])
    s = session_for(sim)
    cfg = sim.config()["mutate_schedule"]
    assert cfg[0]["path"] == "/api/users" and cfg[0]["users"] == 3 and cfg[1]["path"] == "/api/client"
    s.get(sim.base_url + "/api/Tickets", params={"pageinate": "true", "page_size": 10})
    s.get(sim.base_url + "/api/Users/3")  # a single row is not a list request
    assert sim.mutations == []
    s.get(sim.base_url + "/api/Users", params={"pageinate": "true", "page_size": 10})
    assert len(sim.mutations) == 1 and len(sim.mutations[0]["users"]) == 3
    s.get(sim.base_url + "/api/Client")
    assert len(sim.mutations) == 1
    s.get(sim.base_url + "/api/client", params={"pageinate": "true"})
    assert len(sim.mutations) == 2 and len(sim.mutations[1]["clients"]) == 1
    sim.configure(mutate_schedule=[{"every": 1, "sites": 1, "path": "/api/site"}])
    for _ in range(3):
        s.get(sim.base_url + "/api/Site")
    assert len(sim.mutations) == 5
    for bad in ("1:users=-1", "1:path=/tickets", "1:agents=2"):
        with pytest.raises(ValueError):
            sim.configure(mutate_schedule=[bad])


def test_faults_apply_to_reference_paths_and_are_logged(simulator):
    sim = simulator(tickets=20, faults=["500:on=2:path=/api/users", "503:on=1:path=/api/category", "truncated:on=1:path=/api/outcome"])
    s = session_for(sim)
    codes = [s.get(sim.base_url + "/api/Users", params={"pageinate": "true", "page_no": n}).status_code for n in (1, 2, 3)]
    assert codes == [200, 500, 200]
    assert [s.get(sim.base_url + "/api/Category").status_code for _ in range(2)] == [503, 200]
    r = s.get(sim.base_url + "/api/Outcome")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert s.get(sim.base_url + "/api/Client").status_code == 200
    log = [(e["path"], e["status"], e["fault"]) for e in sim.api_requests("/api/")]
    assert log == [("/api/Users", 200, None), ("/api/Users", 500, "500"), ("/api/Users", 200, None),
                   ("/api/Category", 503, "503"), ("/api/Category", 200, None), ("/api/Outcome", 200, "truncated"),
                   ("/api/Client", 200, None)]
    assert sim.api_requests("/api/users")[1]["params"] == {"pageinate": "true", "page_no": "2"}


def test_reference_data_is_deterministic_by_seed():
    a, b, c = HaloSimulator(tickets=300, seed=21), HaloSimulator(tickets=300, seed=21), HaloSimulator(tickets=300, seed=22)
    for stream in ("users", "clients", "sites", "agents", "teams", "ticket_types", "categories", "outcomes",
                   "priorities", "custom_fields", "ticket_custom_fields", "tickets"):
        assert a.truth(stream) == b.truth(stream), stream
    assert a.truth("users") != c.truth("users") and a.truth("ticket_custom_fields") != c.truth("ticket_custom_fields")
    # the same seed keeps its tickets whatever the reference lists add (reference rows have their own random streams)
    assert [a.store.render(j) for j in range(50)] == [b.store.render(j) for j in range(50)]


# ---------------------------------------------------------------- actions (Q26, Q36-Q41)
NO_DATE = "1900-01-01T00:00:00"
SYSTEM_OUTCOMES = {11: 1, 12: 2, 13: 3, 14: 4}  # outcome id -> systemid (Q36)


@pytest.fixture(scope="module")
def acts():
    with HaloSimulator(tickets=600, seed=11) as sim:
        yield sim, session_for(sim)


def actions_of(sim, s, **params):
    """Every action a query selects, paging through it; checks page_no, page_size and record_count."""
    rows, page = [], 1
    while True:
        body = s.get(sim.base_url + "/api/Actions", params={"pageinate": "true", "page_size": 100, "page_no": page,
                                                            **params}, timeout=30).json()
        assert list(body) == ["page_no", "page_size", "record_count", "actions"], body
        assert body["page_no"] == page and body["page_size"] == 100
        rows += body["actions"]
        if len(body["actions"]) < 100:
            assert len(rows) == body["record_count"]
            return rows
        page += 1


def by_ticket(truth):
    out = {}
    for (tid, aid), row in truth.items():
        out.setdefault(tid, []).append(row)
    return out


def test_action_rows_and_generated_data(acts):
    sim, s = acts
    truth = sim.truth("actions")
    tickets = sim.truth()
    per = by_ticket(truth)
    counts = [len(per.get(t, [])) for t in tickets]
    assert 3.5 <= sum(counts) / len(counts) <= 7.0  # about 5 per ticket (Q36)
    assert counts.count(0) >= 5 and max(counts) >= 50
    outcomes = {o["id"]: o for o in s.get(sim.base_url + "/api/Outcome", params={"showhidden": "true"}).json()}
    assert {i: o["systemid"] for i, o in outcomes.items() if o["systemid"]} == SYSTEM_OUTCOMES
    agents = sim.truth("agents")
    users = sim.truth("users")
    seen_outcomes, seen_who = set(), set()
    for (tid, aid), r in truth.items():
        assert (r["ticket_id"], r["id"]) == (tid, aid) and tid in tickets
        assert "note_html" not in r and "emailbody_html" not in r
        assert r["outcome"] == outcomes[r["outcome_id"]]["outcome"]  # every outcome_id resolves (Q34)
        assert r["action_systemid"] == outcomes[r["outcome_id"]]["systemid"]
        assert r["who_agentid"] == 0 or r["who"] == agents[r["who_agentid"]]["name"]
        assert r["actionby_user_id"] == 0 or r["who"] == users[r["actionby_user_id"]]["name"]
        for f in ("datetime", "actiondatecreated", "actionarrivaldate", "actioncompletiondate", "last_updated"):
            assert DT_RE.match(r[f]) and ("." not in r[f] or r[f][-1] != "0"), (f, r[f])  # Q21
            assert parse_dt_us(r[f]) // 1000 % 10 in (0, 3, 7)  # SQL datetime ticks
        assert r["actioncompletiondate"] == r["actiondatecreated"] == r["datetime"]
        assert parse_dt_us(r["actionarrivaldate"]) <= parse_dt_us(r["datetime"]) <= parse_dt_us(r["last_updated"])
        assert isinstance(r["note"], str) and r["note"] and isinstance(r["hiddenfromuser"], bool)
        assert isinstance(r["timetaken"], float) and r["timetaken"] >= 0
        seen_outcomes.add(r["outcome"])
        seen_who.add(r["who_type"])
    assert {"Note", "Email User", "Email Received", "Status Change", "Time Entry", "SLA Hold", "Ticket Logged"} <= seen_outcomes
    assert seen_who == {0, 1, 2}
    assert any(r["hiddenfromuser"] for r in truth.values()) and not all(r["hiddenfromuser"] for r in truth.values())
    assert any(r["last_updated"] > r["datetime"] for r in truth.values())  # some were edited later
    # ids count 1, 2, 3 ... within each ticket (Q26)
    assert all([r["id"] for r in rows] == list(range(1, len(rows) + 1)) for rows in per.values())
    assert len({aid for _, aid in truth}) < len(truth)  # ids repeat across tickets


def test_lastactiondate_is_the_newest_action_for_every_ticket(acts):
    sim, s = acts
    per = by_ticket(sim.truth("actions"))
    rows = all_tickets(sim, s)
    assert len(rows) == len(sim.truth())
    for t in rows:
        mine = per.get(t["id"], [])
        if not mine:
            assert t["lastactiondate"] == NO_DATE
            continue
        assert t["lastactiondate"] == max((a["datetime"] for a in mine), key=parse_dt_us)  # Q40
        occ, lu = parse_dt_us(t["dateoccurred"]), parse_dt_us(t["last_update"])
        times = [parse_dt_us(a["datetime"]) for a in mine]
        assert times == sorted(times) and occ == times[0] and times[-1] <= lu
        assert all(parse_dt_us(a["last_updated"]) <= lu for a in mine)
        assert mine[0]["outcome"] == "Ticket Logged"
        changes = [a for a in mine if a["outcome"] == "Status Change"]
        if changes:
            assert changes[-1]["new_status"] == t["status_id"] and changes[0]["old_status"] == 1
            assert all(b["old_status"] == a["new_status"] for a, b in zip(changes, changes[1:]))
        if t["hasbeenclosed"] and len(mine) > 1:
            assert mine[-1]["outcome"] == "Status Change" and mine[-1]["datetime"] == t["dateclosed"]
    assert sim.truth()[rows[0]["id"]]["lastactiondate"] == rows[0]["lastactiondate"]


def test_actions_of_a_ticket_with_and_without_paging(acts):
    sim, s = acts
    per = by_ticket(sim.truth("actions"))
    big = max(per, key=lambda t: len(per[t]))
    u = sim.base_url + "/api/Actions"
    body = s.get(u, params={"ticket_id": big}).json()
    assert list(body) == ["record_count", "actions"] and body["record_count"] == len(body["actions"]) == len(per[big])
    assert body["actions"] == per[big]  # the same rows as the truth, ordered by id
    assert s.get(u, params={"Ticket_ID": big, "count": 3}).json() == {"record_count": len(per[big]),
                                                                     "actions": per[big][:3]}
    pages = [s.get(u, params={"ticket_id": big, "pageinate": "true", "page_size": 7, "page_no": n}).json()
             for n in range(1, len(per[big]) // 7 + 3)]
    assert all(list(p) == ["page_no", "page_size", "record_count", "actions"] for p in pages)
    assert all(p["record_count"] == len(per[big]) and p["page_size"] == 7 for p in pages)
    assert [a for p in pages for a in p["actions"]] == per[big] and pages[-1]["actions"] == []
    capped = s.get(u, params={"ticket_id": big, "pageinate": "true", "page_size": 500}).json()
    assert capped["page_size"] == 100 and len(capped["actions"]) == min(100, len(per[big]))  # Q9 cap
    none = next(t for t in sim.truth() if t not in per)
    assert s.get(u, params={"ticket_id": none}).json() == {"record_count": 0, "actions": []}
    for params in ({}, {"ticket_id": 0}, {"ticket_id": 99999}, {"startdate": "2025-01-01"}, {"enddate": "2025-01-02"},
                   {"datesearch": "datetime"}):
        assert s.get(u, params=params).json() == {"record_count": 0, "actions": []}, params  # Q37
    assert s.get(u, params={"ticket_id": big, "startdate": "not a date", "enddate": "2025-01-01"}).status_code == 400


def test_actions_single(acts):
    sim, s = acts
    per = by_ticket(sim.truth("actions"))
    tid = next(t for t, rows in per.items() if any(r["outcome"] == "Email User" for r in rows))
    email = next(r for r in per[tid] if r["outcome"] == "Email User")
    one = s.get(f"{sim.base_url}/api/Actions/{email['id']}", params={"ticket_id": tid}).json()
    assert {k: v for k, v in one.items() if k != "note_html"} == email and one["note_html"].startswith("<p>")
    full = s.get(f"{sim.base_url}/api/Actions/{email['id']}", params={"ticket_id": tid, "includeemail": "true"}).json()
    assert full["emailbody_html"].startswith("<html>") and full["note_html"] == one["note_html"]
    assert s.get(f"{sim.base_url}/api/Actions/{email['id']}").status_code == 404  # ids are per ticket (Q41)
    assert s.get(f"{sim.base_url}/api/Actions/9999", params={"ticket_id": tid}).status_code == 404


def test_actions_filters_and_html(acts):
    sim, s = acts
    per = by_ticket(sim.truth("actions"))
    big = max(per, key=lambda t: len(per[t]))
    u = sim.base_url + "/api/Actions"
    mine = per[big]
    assert any(a["action_systemid"] for a in mine) and any(a["hiddenfromuser"] for a in mine)
    for params, keep in (({"excludesys": "true"}, lambda a: a["action_systemid"] == 0),
                         ({"excludeprivate": "true"}, lambda a: not a["hiddenfromuser"]),
                         ({"excludesys": "true", "excludeprivate": "True"},
                          lambda a: a["action_systemid"] == 0 and not a["hiddenfromuser"]),
                         ({"excludesys": "false"}, lambda a: True)):
        body = s.get(u, params={"ticket_id": big, **params}).json()
        assert body["actions"] == [a for a in mine if keep(a)] and body["record_count"] == len(body["actions"]), params
    plain = s.get(u, params={"ticket_id": big}).json()["actions"]
    assert not any("note_html" in a or "emailbody_html" in a for a in plain)
    html = s.get(u, params={"ticket_id": big, "includehtmlnote": "true"}).json()["actions"]
    assert all(a["note_html"].startswith("<p>") and "emailbody_html" not in a for a in html)
    assert [{k: v for k, v in a.items() if k != "note_html"} for a in html] == plain
    mail = s.get(u, params={"ticket_id": big, "includehtmlemail": "true"}).json()["actions"]
    assert all("note_html" not in a for a in mail)
    assert all(bool(a["emailbody_html"]) == a["outcome"].startswith("Email") for a in mail)
    # on a range query too
    day = next(a for a in reversed(mine) if a["action_systemid"] == 0)["datetime"][:10]
    rows = actions_of(sim, s, startdate=day, enddate=day + "T23:59:59", excludesys="true", includehtmlnote="true")
    assert rows and all(a["action_systemid"] == 0 and "note_html" in a for a in rows)


def test_actions_by_datetime_range(acts):
    sim, s = acts
    truth = sim.truth("actions")
    anchor = sorted(truth.values(), key=lambda a: parse_dt_us(a["datetime"]))[len(truth) // 2]
    start_us = parse_dt_us(anchor["datetime"])
    end_us = start_us + 86_400_000_000  # exactly one day: allowed (Q38)
    expected = sorted((a for a in truth.values() if start_us <= parse_dt_us(a["datetime"]) <= end_us),
                      key=lambda a: (a["ticket_id"], a["id"]))
    assert len(expected) > 1
    for start, end in ((anchor["datetime"], fmt_ms(end_us // 1000)),  # naive
                       (anchor["datetime"] + "Z", fmt_ms(end_us // 1000) + "Z")):  # with Z
        rows = actions_of(sim, s, startdate=start, enddate=end)
        assert rows == expected  # inclusive at both ends, by ticket_id then id (Q37, Q39)
        assert anchor in rows
    just_after = fmt_ms(start_us // 1000 + 10)
    assert anchor not in actions_of(sim, s, startdate=just_after, enddate=fmt_ms(end_us // 1000))
    # dates alone: midnight to midnight
    day = anchor["datetime"][:10]
    nxt = fmt_ms(parse_dt_us(day) // 1000 + 86_400_000)[:10]
    rows = actions_of(sim, s, startdate=day, enddate=nxt)
    assert rows == sorted((a for a in truth.values() if parse_dt_us(day) <= parse_dt_us(a["datetime"]) <= parse_dt_us(nxt)),
                          key=lambda a: (a["ticket_id"], a["id"]))
    # order=datetime, orderdesc; unpaged and count
    by_time = actions_of(sim, s, startdate=day, enddate=nxt, order="datetime")
    assert by_time == sorted(rows, key=lambda a: (parse_dt_us(a["datetime"]), a["ticket_id"], a["id"]))
    assert actions_of(sim, s, startdate=day, enddate=nxt, order="datetime", orderdesc="true") == by_time[::-1]
    assert actions_of(sim, s, startdate=day, enddate=nxt, orderdesc="true") == rows[::-1]
    unpaged = s.get(sim.base_url + "/api/Actions", params={"startdate": day, "enddate": nxt}).json()
    assert unpaged == {"record_count": len(rows), "actions": rows}
    assert s.get(sim.base_url + "/api/Actions", params={"startdate": day, "enddate": nxt, "count": 2}).json()["actions"] == rows[:2]
    # datesearch is accepted and ignored; enddate before startdate selects nothing
    assert actions_of(sim, s, startdate=day, enddate=nxt, datesearch="lastupdate") == rows
    assert actions_of(sim, s, startdate=nxt, enddate=day) == []
    # with ticket_id, the dates narrow that ticket's actions and no range limit applies
    tid = anchor["ticket_id"]
    narrowed = s.get(sim.base_url + "/api/Actions", params={"ticket_id": tid, "startdate": "2000-01-01",
                                                           "enddate": anchor["datetime"]}).json()["actions"]
    assert narrowed == [a for a in truth.values() if a["ticket_id"] == tid and parse_dt_us(a["datetime"]) <= start_us]


def test_actions_range_limit_and_modes(simulator):
    sim = simulator(tickets=300, seed=5)
    s = session_for(sim)
    u = sim.base_url + "/api/Actions"
    assert sim.config()["actions_max_range_days"] == 1 and sim.config()["actions_range"] == "answer"
    assert sim.config()["actions_paging"] == "paged"
    ok = s.get(u, params={"startdate": "2025-06-01T00:00:00", "enddate": "2025-06-02T00:00:00"})
    assert ok.status_code == 200
    r = s.get(u, params={"startdate": "2025-06-01T00:00:00", "enddate": "2025-06-02T00:00:01"})
    assert r.status_code == 400 and r.json()["ClassName"] == "System.ArgumentException"
    assert "1 day at most" in r.json()["Message"]
    truth = sim.truth("actions")
    tid = next(iter(truth))[0]
    assert s.get(u, params={"ticket_id": tid, "startdate": "2000-01-01", "enddate": "2100-01-01"}).json()[
        "record_count"] == sum(1 for k in truth if k[0] == tid)
    sim.configure(actions_max_range_days=7)
    assert s.get(u, params={"startdate": "2025-06-01", "enddate": "2025-06-08"}).status_code == 200
    r = s.get(u, params={"startdate": "2025-06-01", "enddate": "2025-06-09"})
    assert r.status_code == 400 and "7 days at most" in r.json()["Message"]
    sim.configure(actions_max_range_days=0)  # no limit: the whole history in one range
    everything = actions_of(sim, s, startdate="2000-01-01", enddate="2100-01-01")
    assert {(a["ticket_id"], a["id"]): a for a in everything} == truth and len(everything) == len(truth)
    sim.configure(actions_range="refuse")
    r = s.get(u, params={"startdate": "2025-06-01", "enddate": "2025-06-01T01:00:00"})
    assert r.status_code == 400 and r.json()["ClassName"].startswith("System.")
    assert s.get(u, params={"ticket_id": tid}).json()["record_count"] == sum(1 for k in truth if k[0] == tid)
    assert s.get(u).json() == {"record_count": 0, "actions": []}
    requests.post(sim.base_url + "/_sim/config", json={"actions_range": "empty"})
    assert s.get(u, params={"startdate": "2000-01-01", "enddate": "2100-01-01", "pageinate": "true"}).json() == {
        "record_count": 0, "actions": []}
    assert s.get(u, params={"ticket_id": tid}).json()["record_count"] == sum(1 for k in truth if k[0] == tid)
    for bad in ({"actions_range": "sometimes"}, {"actions_paging": "maybe"}, {"actions_max_range_days": -1}):
        with pytest.raises(ValueError):
            sim.configure(**bad)


def test_actions_paging_ignored_and_repeat_last_page(simulator):
    sim = simulator(tickets=200, seed=5, actions_paging="ignored")
    s = session_for(sim)
    per = by_ticket(sim.truth("actions"))
    big = max(per, key=lambda t: len(per[t]))
    body = s.get(sim.base_url + "/api/Actions", params={"ticket_id": big, "pageinate": "true", "page_size": 2,
                                                        "page_no": 3}).json()
    assert body == {"record_count": len(per[big]), "actions": per[big]}  # every action at once (Q39)
    sim.configure(actions_paging="paged", repeat_last_page=True)
    n = len(per[big])
    last = (n - 1) // 4 + 1
    page = lambda k: s.get(sim.base_url + "/api/Actions", params={"ticket_id": big, "pageinate": "true", "page_size": 4,
                                                                  "page_no": k}).json()["actions"]
    assert page(last) == page(last + 2) == per[big][(last - 1) * 4:]


def test_action_mutations(simulator):
    sim = simulator(tickets=300, seed=13)
    s = session_for(sim)
    before, tickets_before = sim.truth("actions"), sim.truth()
    newest = max(parse_dt_us(t["last_update"]) for t in tickets_before.values())
    ids = sim.mutate(actions_add=6, actions_edit=4, actions_delete=3)
    res = sim.mutations[-1]
    assert [len(res[k]) for k in ("actions_added", "actions_edited", "actions_deleted")] == [6, 4, 3]
    assert res["updated"] == res["created"] == res["deleted"] == []
    touched = {t for k in ("actions_added", "actions_edited", "actions_deleted") for t, _ in res[k]}
    assert set(ids) == touched and len(ids) == len(touched)
    after, tickets = sim.truth("actions"), sim.truth()
    for tid, aid in res["actions_added"]:
        assert (tid, aid) not in before and aid > max((i for t, i in before if t == tid), default=0)
        if (tid, aid) not in after:  # deleted again in the same call
            continue
        a = after[(tid, aid)]
        assert parse_dt_us(a["datetime"]) >= newest and a["datetime"] == a["last_updated"]
        assert tickets[tid]["last_update"] == a["datetime"] == tickets[tid]["lastactiondate"]
    for tid, aid in res["actions_edited"]:
        if (tid, aid) in after and (tid, aid) in before:
            a, b = after[(tid, aid)], before[(tid, aid)]
            assert a["note"] != b["note"] and a["datetime"] == b["datetime"]  # Q39: not its datetime
            assert parse_dt_us(a["last_updated"]) >= newest
            assert parse_dt_us(tickets[tid]["last_update"]) >= newest
    for tid, aid in res["actions_deleted"]:
        assert (tid, aid) not in after and parse_dt_us(tickets[tid]["last_update"]) >= newest
        assert s.get(f"{sim.base_url}/api/Actions/{aid}", params={"ticket_id": tid}).status_code == 404
    untouched = set(before) - {tuple(k) for k in res["actions_edited"] + res["actions_deleted"]}
    assert all(after[k] == before[k] for k in untouched)
    assert all(tickets[t] == tickets_before[t] for t in tickets if t not in touched)
    # lastactiondate stays the newest action's datetime, served and in truth, for every ticket
    per = by_ticket(after)
    for t in all_tickets(sim, s):
        mine = per.get(t["id"], [])
        assert t["lastactiondate"] == (max((a["datetime"] for a in mine), key=parse_dt_us) if mine else NO_DATE)
        assert t["lastactiondate"] == tickets[t["id"]]["lastactiondate"]
    # over HTTP
    r = requests.post(sim.base_url + "/_sim/mutate", json={"actions_add": 2, "actions_delete": 1}).json()
    assert len(r["actions_added"]) == 2 and len(r["actions_deleted"]) == 1 and len(r["ids"]) >= 1
    with pytest.raises(ValueError):
        sim.mutate(actions_add=-1)


def test_deleted_action_ids_are_never_reused_and_no_actions_leave_no_date():
    # one ticket, so every action mutation lands on it
    sim = next(x for x in (HaloSimulator(tickets=1, seed=k) for k in range(1, 40)) if len(x.truth("actions")) >= 3)
    n = len(sim.truth("actions"))
    assert sorted(sim.truth("actions")) == [(1, i) for i in range(1, n + 1)]
    sim.mutate(actions_delete=1)
    (gone,) = sim.mutations[-1]["actions_deleted"]
    left = sim.truth("actions")
    assert tuple(gone) not in left and sim.truth()[1]["lastactiondate"] == max(
        (a["datetime"] for a in left.values()), key=parse_dt_us)
    sim.mutate(actions_delete=n)  # more than there are: every one left
    assert len(sim.mutations[-1]["actions_deleted"]) == n - 1 and sim.truth("actions") == {}
    assert sim.truth()[1]["lastactiondate"] == NO_DATE == sim.store.render(0)["lastactiondate"]
    sim.mutate(actions_add=2)
    assert sim.mutations[-1]["actions_added"] == [[1, n + 1], [1, n + 2]]  # the next ids, never a deleted one
    assert sim.truth()[1]["lastactiondate"] == sim.truth("actions")[(1, n + 2)]["datetime"] == sim.truth()[1]["last_update"]


def test_ticket_mutations_and_their_actions(simulator):
    sim = simulator(tickets=300, seed=17)
    s = session_for(sim)
    before, tickets_before = sim.truth("actions"), sim.truth()
    sim.mutate(update=40, create=3, delete=5)
    res = sim.mutations[-1]
    after, tickets = sim.truth("actions"), sim.truth(include_deleted=True)
    changed = [t for t in res["updated"] if t in tickets_before and tickets[t]["status_id"] != tickets_before[t]["status_id"]
               and not tickets[t]["deleted"]]
    assert changed  # Q39: a status change is an action
    added = {tuple(k) for k in res["actions_added"]}
    for tid in changed:
        newest = max((a for (t, _), a in after.items() if t == tid), key=lambda a: a["id"])
        assert (tid, newest["id"]) in added and newest["outcome"] == "Status Change"
        assert newest["old_status"] == tickets_before[tid]["status_id"] and newest["new_status"] == tickets[tid]["status_id"]
        assert newest["datetime"] == tickets[tid]["last_update"] == tickets[tid]["lastactiondate"]
    for tid in res["created"]:
        mine = [a for (t, _), a in after.items() if t == tid]
        assert [(a["id"], a["outcome"]) for a in mine] == [(1, "Ticket Logged")]
        assert mine[0]["datetime"] == tickets[tid]["dateoccurred"] == tickets[tid]["lastactiondate"]
    for tid in res["deleted"]:  # their actions are hidden everywhere
        assert not any(t == tid for t, _ in after)
        assert s.get(sim.base_url + "/api/Actions", params={"ticket_id": tid}).json()["record_count"] == 0
        assert any(t == tid for t, _ in sim.truth("actions", include_deleted=True)) or not any(
            t == tid for t, _ in before)
    sim.configure(actions_max_range_days=0)
    everything = actions_of(sim, s, startdate="2000-01-01", enddate="2100-01-01")
    assert {(a["ticket_id"], a["id"]) for a in everything} == set(after)
    assert not {a["ticket_id"] for a in everything} & set(res["deleted"])


def test_action_mutation_schedule_while_paging(simulator):
    sim = simulator(tickets=300, seed=19, actions_max_range_days=0,
                    mutate_schedule=[{"after": 1, "actions_add": 5, "path": "/api/Actions"}, "2:actions_edit=2:path=/api/actions"])
    cfg = sim.config()["mutate_schedule"]
    assert cfg[0]["actions_add"] == 5 and cfg[1]["actions_edit"] == 2 and cfg[1]["path"] == "/api/actions"
    s = session_for(sim)
    u = sim.base_url + "/api/Actions"
    params = {"startdate": "2000-01-01", "enddate": "2100-01-01", "pageinate": "true", "page_size": 100}
    # a rule fires after its request is answered: the next page sees it
    n1 = s.get(u, params={**params, "page_no": 1}).json()["record_count"]
    n2 = s.get(u, params={**params, "page_no": 2}).json()["record_count"]
    assert n2 == n1 + 5 and len(sim.mutations[0]["actions_added"]) == 5
    s.get(u + "/1", params={"ticket_id": 1})  # a single action is not a list request
    s.get(sim.base_url + "/api/Tickets", params={"pageinate": "true"})
    assert len(sim.mutations) == 2 and len(sim.mutations[1]["actions_edited"]) == 2
    for bad in ("1:actions_add=-1", "1:actions_move=2"):
        with pytest.raises(ValueError):
            sim.configure(mutate_schedule=[bad])


def test_faults_on_actions_and_the_request_log(simulator):
    sim = simulator(tickets=100, seed=3, faults=["500:on=2:path=/api/actions", "truncated:on=3:path=/api/actions"])
    s = session_for(sim)
    tid = next(iter(sim.truth("actions")))[0]
    rs = [s.get(sim.base_url + "/api/Actions", params={"ticket_id": tid, "excludesys": "true"}) for _ in range(4)]
    assert [r.status_code for r in rs] == [200, 500, 200, 200]
    assert rs[1].json()["ClassName"] == "System.Exception"
    with pytest.raises(ValueError):
        rs[2].json()
    assert rs[3].json() == rs[0].json()
    assert s.get(sim.base_url + "/api/Tickets").status_code == 200  # the tickets path is not affected
    log = sim.api_requests("/api/actions")
    assert [(e["path"], e["status"], e["fault"]) for e in log] == [
        ("/api/Actions", 200, None), ("/api/Actions", 500, "500"), ("/api/Actions", 200, "truncated"),
        ("/api/Actions", 200, None)]
    assert all(e["params"] == {"ticket_id": str(tid), "excludesys": "true"} for e in log)


def test_actions_truth_over_the_control_path(simulator):
    sim = simulator(tickets=80, seed=2)
    local, everything = sim.truth("actions"), sim.truth("actions", include_deleted=True)
    http = requests.get(sim.base_url + "/_sim/truth", params={"stream": "actions"}).json()
    assert http == {f"{t}:{i}": row for (t, i), row in local.items()}
    assert sim.truth("action") == local and set(local) <= set(everything)  # ~1% of tickets are deleted
    sim.mutate(delete=3)
    gone = sim.mutations[-1]["deleted"]
    with_deleted = requests.get(sim.base_url + "/_sim/truth", params={"stream": "actions", "include_deleted": "true"}).json()
    live = sim.truth("actions")
    assert set(with_deleted) == {f"{t}:{i}" for t, i in everything} and not any(t in gone for t, _ in live)
    assert set(live) == {k for k in local if k[0] not in gone}
    assert sim.request_log == []


def test_actions_deterministic_and_independent_of_the_tickets():
    # One end for every simulator: by default the data ends at the second it is built, which differs
    # between simulators built across a second's boundary.
    end = "2026-06-01T12:00:00"
    a, b, c = (HaloSimulator(tickets=300, seed=21, end=end), HaloSimulator(tickets=300, seed=21, end=end),
               HaloSimulator(tickets=300, seed=22, end=end))
    assert a.truth("actions") == b.truth("actions") != c.truth("actions")
    none = HaloSimulator(tickets=300, seed=21, actions_per_ticket=0, end=end)
    more = HaloSimulator(tickets=300, seed=21, actions_per_ticket=12, end=end)
    assert none.truth("actions") == {} and all(t["lastactiondate"] == NO_DATE for t in none.truth().values())
    assert 9 <= len(more.truth("actions")) / len(more.truth()) <= 16
    # the tickets are the same whatever the actions (only lastactiondate and lastnote_date follow them)
    strip = lambda d: {k: v for k, v in d.items() if k not in ("lastactiondate", "lastnote_date")}
    assert [strip(a.store.render(j)) for j in range(300)] == [strip(none.store.render(j)) for j in range(300)]
    # generating the actions lazily or up front gives the same data and tickets
    lazy = HaloSimulator(tickets=300, seed=21, end=end)
    rows_before = [lazy.store.render(j) for j in range(300)]
    assert lazy.truth("actions") == a.truth("actions") and [lazy.store.render(j) for j in range(300)] == rows_before
    with pytest.raises(ValueError):
        HaloSimulator(tickets=5, actions_per_ticket=-1)


def test_actions_build_and_day_query_are_fast(simulator):
    t0 = time.perf_counter()
    sim = simulator(tickets=20000, seed=42)
    with sim.store.lock:
        sim.store._actions()
    build = time.perf_counter() - t0
    n = sim.store.action_count
    assert 80_000 <= n <= 120_000 and build < 3.0, (n, build)
    s = session_for(sim)
    start = fmt_ms(sim.store.end_ms - 200 * 86_400_000)[:10]
    t0 = time.perf_counter()
    day = s.get(sim.base_url + "/api/Actions", params={"startdate": start, "enddate": start + "T23:59:59",
                                                        "pageinate": "true", "page_size": 100}).json()
    assert day["record_count"] > 50 and time.perf_counter() - t0 < 1.0


# ---------------------------------------------------------------- switches
def test_repeat_last_page(simulator):
    sim = simulator(tickets=250, repeat_last_page=True)
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token(sim)
    p = lambda n: s.get(sim.base_url + "/api/Tickets", params={"pageinate": "true", "page_size": 100, "page_no": n}).json()
    last = p(3)["tickets"]
    assert len(last) == len(p(4)["tickets"]) and [t["id"] for t in p(9)["tickets"]] == [t["id"] for t in last]


def test_rate_limit(simulator):
    sim = simulator(tickets=10, rate_limit=3, rate_window=1)
    h = {"Authorization": "Bearer " + token(sim)}
    codes = [requests.get(sim.base_url + "/api/Status", headers=h) for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert codes[3].json() == {"error": "Rate Limit Reached - 3 Requests per rolling 1 second window"}
    assert "Retry-After" not in codes[3].headers
    sim.configure(retry_after=True, rate_limit=300, rate_window=300)
    for _ in range(300):
        requests.get(sim.base_url + "/api/authinfo")
    r = requests.get(sim.base_url + "/api/Status", headers=h)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"] == "Rate Limit Reached - 300 Requests per rolling 5 minute window"
    sim.configure(rate_limit=2, rate_window=0.5)
    time.sleep(0.01)
    assert requests.get(sim.base_url + "/api/Status", headers=h).status_code == 200


@pytest.mark.parametrize("kind,status", [("500", 500), ("502", 502), ("503", 503), ("504", 504), ("429", 429), ("html", 200)])
def test_status_faults_on_schedule(simulator, kind, status):
    sim = simulator(tickets=10, faults=[f"{kind}:on=2,4:path=/api/status"])
    h = {"Authorization": "Bearer " + token(sim)}
    rs = [requests.get(sim.base_url + "/api/Status", headers=h) for _ in range(5)]
    assert [r.status_code for r in rs] == [200, status, 200, status, 200]
    if kind == "500":
        assert rs[1].json()["ClassName"] == "System.Exception" and "Message" in rs[1].json()
    if kind == "html":
        assert rs[1].headers["Content-Type"].startswith("text/html")
        with pytest.raises(ValueError):
            rs[1].json()
    assert [e["fault"] for e in sim.api_requests("/api/status")][1] == kind
    assert requests.get(sim.base_url + "/api/Team", headers=h).status_code == 200  # other path untouched


def test_drop_truncated_partial_delay_every_probability(simulator):
    sim = simulator(tickets=10, faults=["drop:on=1", "truncated:on=2", "partial:on=3", "delay:on=4:seconds=0.5"])
    h = {"Authorization": "Bearer " + token(sim)}
    u = sim.base_url + "/api/Status"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(u, headers=h)
    r = requests.get(u, headers=h)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        requests.get(u, headers=h)
    t0 = time.monotonic()
    assert requests.get(u, headers=h).status_code == 200
    assert time.monotonic() - t0 >= 0.45
    sim.configure(faults=["503:every=3"])
    assert [requests.get(u, headers=h).status_code for _ in range(6)] == [200, 200, 503, 200, 200, 503]
    sim.configure(faults=["500:p=0.5"], fault_seed=1)
    codes = [requests.get(u, headers=h).status_code for _ in range(40)]
    assert 5 < codes.count(500) < 35
    # auth endpoint only when asked
    sim.configure(faults=["500"])
    assert requests.post(sim.base_url + "/auth/token", data={"grant_type": "client_credentials", "client_id": "demo-client",
                                                            "client_secret": "demo-secret"}).status_code == 200
    sim.configure(faults=["500:auth=true:times=1"])
    assert requests.post(sim.base_url + "/auth/token", data={"grant_type": "client_credentials"}).status_code == 500


def test_echo_secrets(simulator):
    sim = simulator(tickets=10, echo_secrets=True, faults=["500:on=1"])
    r = requests.post(sim.base_url + "/auth/token", data={"grant_type": "client_credentials", "client_id": "demo-client",
                                                         "client_secret": "s3cr3t-value"})
    assert r.status_code == 401 and "s3cr3t-value" in r.text
    tok = token(sim)
    r = requests.get(sim.base_url + "/api/Status", headers={"Authorization": "Bearer " + tok})
    assert r.status_code == 500 and tok in r.text
    r = requests.get(sim.base_url + "/api/Status", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and "not-a-token" in r.text


def test_latency(simulator):
    sim = simulator(tickets=10, latency=0.2)
    t0 = time.monotonic()
    requests.get(sim.base_url + "/api/authinfo")
    assert time.monotonic() - t0 >= 0.19


def test_mutations_api_and_truth(simulator):
    sim = simulator(tickets=300)
    before = sim.truth()
    ids = sim.mutate(update=5, create=3, delete=2)
    res = sim.mutations[-1]
    assert ids == res["updated"] + res["created"] + res["deleted"]
    after = sim.truth()
    assert len(res["updated"]) == 5 and len(res["created"]) == 3 and len(res["deleted"]) == 2
    assert max(before) < min(res["created"]) and all(i in after for i in res["created"])
    assert all(i not in after for i in res["deleted"])
    newest = max(parse_dt_us(t["last_update"]) for t in before.values())
    assert all(parse_dt_us(after[i]["last_update"]) >= newest for i in res["updated"] if i in after)
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token(sim)
    t = s.get(f"{sim.base_url}/api/Tickets/{res['updated'][0]}").json()
    assert t["last_update"] == after[res["updated"][0]]["last_update"]
    ids = res["updated"][:1]
    r = requests.post(sim.base_url + "/_sim/mutate", json={"update": 0, "ids": ids}).json()
    assert r["updated"] == ids
    truth_http = requests.get(sim.base_url + "/_sim/truth").json()
    assert set(map(int, truth_http)) == set(sim.truth())
    assert len(requests.get(sim.base_url + "/_sim/truth?include_deleted=true").json()) == 303


def test_scheduled_mutation_during_paging(simulator):
    sim = simulator(tickets=300, mutate_schedule=[{"after": 1, "update": 10, "create": 2}])
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token(sim)
    u = sim.base_url + "/api/Tickets"
    n1 = s.get(u, params={"pageinate": "true", "page_size": 100}).json()["record_count"]
    n2 = s.get(u, params={"pageinate": "true", "page_size": 100, "page_no": 2}).json()["record_count"]
    assert n2 == n1 + 2 and len(sim.mutations) == 1
    s.get(u, params={"pageinate": "true", "page_size": 100, "page_no": 3})
    assert len(sim.mutations) == 1
    sim.configure(mutate_schedule=["2:update=1:repeat=true"])
    for i in range(4):
        s.get(u, params={"pageinate": "true", "page_size": 100})
    assert len(sim.mutations) == 3


def test_request_log_and_control_path(simulator):
    sim = simulator(tickets=10)
    tok = token(sim)
    requests.get(sim.base_url + "/api/Tickets", params={"pageinate": "true", "page_size": 5},
                 headers={"Authorization": "Bearer " + tok})
    requests.get(sim.base_url + "/_sim/log")
    log = sim.request_log
    assert [e["path"] for e in log] == ["/auth/token", "/api/Tickets"]
    e = log[1]
    assert e["method"] == "GET" and e["params"] == {"pageinate": "true", "page_size": "5"} and e["status"] == 200
    assert isinstance(e["time"], float) and e["duration"] >= 0 and sim.max_concurrency >= 1
    assert len(sim.api_requests("/API/tickets")) == 1
    assert requests.get(sim.base_url + "/_sim/log").json()[1]["path"] == "/api/Tickets"
    requests.post(sim.base_url + "/_sim/reset_log")
    assert sim.request_log == []
    cfg = requests.post(sim.base_url + "/_sim/config", json={"rate_limit": 7, "faults": ["502:on=1"]}).json()
    assert cfg["rate_limit"] == 7 and cfg["faults"][0]["kind"] == "502"
    assert requests.post(sim.base_url + "/_sim/config", json={"no_such_switch": 1}).status_code == 400
    assert requests.get(sim.base_url + "/_sim/tokens").json() == [tok]
    assert tok not in str(sim.request_log)


def test_configure_rejects_bad_values():
    sim = HaloSimulator(tickets=5)
    with pytest.raises(TypeError):
        sim.configure(nope=1)
    for bad in ({"lastupdate_from_op": "=="}, {"faults": ["nosuchfault"]}, {"faults": ["500:on=0"]},
                {"default_order": "x"}, {"rate_window": 0}, {"max_page_size": 0}):
        with pytest.raises(ValueError):
            sim.configure(**bad)


def test_parallel_requests(simulator):
    from concurrent.futures import ThreadPoolExecutor

    sim = simulator(tickets=2000)
    tok = token(sim)

    def page(n):
        with requests.Session() as s:
            r = s.get(sim.base_url + "/api/Tickets", params={"pageinate": "true", "page_size": 100, "page_no": n, "order": "id"},
                      headers={"Authorization": "Bearer " + tok})
            return [t["id"] for t in r.json()["tickets"]]

    with ThreadPoolExecutor(8) as ex:
        pages = list(ex.map(page, range(1, 21)))
    ids = [i for p in pages for i in p]
    assert ids == sorted(ids) and len(ids) == len(sim.truth())


def test_stop_closes_keepalive_connections():
    sim = HaloSimulator(tickets=5).start()
    s = requests.Session()
    assert s.get(sim.base_url + "/api/authinfo").status_code == 200
    port = sim.port
    sim.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        s.get(f"http://127.0.0.1:{port}/api/authinfo", timeout=2)


# ---------------------------------------------------------------- command line
def test_cli_help_and_usage_errors():
    py = [sys.executable, "-m", "integration_tests.halo_simulator"]
    out = subprocess.run(py + ["--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for flag in ("--port", "--tickets", "--rate-limit", "--retry-after", "--token-ttl", "--token-max-uses", "--fault",
                 "--repeat-last-page", "--mutate-after", "--mutate-every", "--latency", "--lastupdate-from-op",
                 "--lastupdate-to-op", "--echo-secrets", "--tenant", "--default-order", "--unpaged-limit",
                 "--hide-inactive", "--category-shape", "--ignore-include-custom-fields", "users=U", "path=/api/LIST",
                 "--actions-per-ticket", "--actions-max-range-days", "--actions-range", "--actions-paging",
                 "actions_add=A", "actions_edit=E", "actions_delete=X"):
        assert flag in out.stdout, flag
    for args in (["--bogus"], ["--port", "70000"], ["--port", "abc"], ["--tickets", "-1"], ["--fault", "boom"],
                 ["--lastupdate-from-op", "=="], ["--mutate-after", "0:update=1"], ["--category-shape", "dict"],
                 ["--hide-inactive", "maybe"], ["--mutate-after", "1:users=-2"], ["--mutate-every", "1:path=/x"],
                 ["--actions-range", "sometimes"], ["--actions-paging", "maybe"], ["--actions-max-range-days", "-1"],
                 ["--actions-per-ticket", "-2"], ["--mutate-after", "1:actions_add=-1"]):
        r = subprocess.run(py + args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "usage:" in r.stderr and "error:" in r.stderr, args


def test_cli_serves():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "integration_tests.halo_simulator", "--port", str(port),
                             "--tickets", "300", "--rate-limit", "100"], stdout=subprocess.PIPE, text=True)
    try:
        assert "listening on" in proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        tok = requests.post(base + "/auth/token?tenant=demo", data={
            "grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret",
            "scope": "all"}).json()["access_token"]
        body = requests.get(base + "/api/Tickets", params={"pageinate": "true", "page_size": 100, "page_no": 1},
                            headers={"Authorization": "Bearer " + tok}).json()
        assert body["record_count"] > 250 and len(body["tickets"]) == 100
    finally:
        proc.terminate()
        proc.wait(10)
