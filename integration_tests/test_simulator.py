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
    agents = get(shared, "/api/Agent").json()
    assert isinstance(agents, list) and agents[0]["id"] == 1
    pa = get(shared, "/api/Agent", pageinate="true", page_size=5).json()
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
                 "--lastupdate-to-op", "--echo-secrets", "--tenant", "--default-order", "--unpaged-limit"):
        assert flag in out.stdout, flag
    for args in (["--bogus"], ["--port", "70000"], ["--port", "abc"], ["--tickets", "-1"], ["--fault", "boom"],
                 ["--lastupdate-from-op", "=="], ["--mutate-after", "0:update=1"]):
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
