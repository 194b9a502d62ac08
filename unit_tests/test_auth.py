"""The token request, token reuse and renewal, and the one-refresh-on-401 rule, seen from the wire.

Exact requests with the CDK's HttpMocker (halo_mock.py); token renewal and the second 401 against the
simulator, a real HTTP server whose request log shows every token request in order."""
import datetime as dt
import types

from airbyte_cdk.test.mock_http import HttpMocker, HttpRequest

import source_haloitsm.auth as auth
from integration_tests.harness import catalog, run_connector, sim_config
from unit_tests.halo_mock import (
    BASE_URL,
    NOW,
    SECRET,
    START,
    config,
    mock_deleted,
    mock_window,
    number_of_calls,
    oauth_error,
    ticket,
    tickets,
    tickets_page,
    tickets_request,
    token_request,
    token_response,
    unauthorized,
)

TICKETS = catalog("tickets")


def test_token_request_is_form_encoded_client_credentials_with_tenant_and_scope(frozen_clock, tmp_path):
    cfg = config(scope="read:tickets read:customers")
    token = HttpRequest(
        f"{BASE_URL}/auth/token",
        query_params={"tenant": "acme"},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"grant_type=client_credentials&client_id=client-id-1&client_secret={SECRET}&scope=read%3Atickets+read%3Acustomers",
    )
    assert token_request(cfg).build() == token  # the builder every other test uses says the same
    with HttpMocker() as http:
        http.post(token, token_response("t-1").build())
        mock_window(http, START, NOW, {"open_only": tickets([1, 2], START + dt.timedelta(days=3)), "closed_only": []}, token="t-1")
        out = run_connector("read", cfg, tmp_path, TICKETS)
        http.assert_number_of_calls(token, 1)
    assert not out.errors, out.errors
    assert sorted(r["id"] for r in out.records) == [1, 2]


def test_empty_tenant_sends_no_tenant_parameter(frozen_clock, tmp_path):
    cfg = config(tenant="")
    # No query string: a request with `?tenant=` (even empty) matches nothing and fails the read.
    token = HttpRequest(
        f"{BASE_URL}/auth/token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"grant_type=client_credentials&client_id=client-id-1&client_secret={SECRET}&scope=all",
    )
    assert token_request(cfg).build() == token
    with HttpMocker() as http:
        http.post(token, token_response("t-1").build())
        mock_window(http, START, NOW, {"open_only": tickets([1], START + dt.timedelta(days=1)), "closed_only": []})
        out = run_connector("read", cfg, tmp_path, TICKETS)
        http.assert_number_of_calls(token, 1)
    assert not out.errors, out.errors
    assert [r["id"] for r in out.records] == [1]


def test_one_token_is_reused_for_every_request(frozen_clock, tmp_path):
    # 7 pages read by 4 workers; every page only matches when signed with the one token.
    cfg = config(page_size=40, parallel_requests=4)
    open_rows = tickets(range(1, 181), START + dt.timedelta(days=1), dt.timedelta(hours=1))
    closed_rows = tickets(range(181, 231), START + dt.timedelta(days=2), dt.timedelta(hours=1))
    with HttpMocker() as http:
        token = token_request(cfg).build()
        http.post(token, [token_response("t-1").build(), token_response("t-2").build()])
        pages = mock_window(http, START, NOW, {"open_only": open_rows, "closed_only": closed_rows}, page_size=40, token="t-1")
        out = run_connector("read", cfg, tmp_path, TICKETS)
        http.assert_number_of_calls(token, 1)
        for request in pages["open_only"] + pages["closed_only"]:
            http.assert_number_of_calls(request, 1)
    assert not out.errors, out.errors
    assert sorted(r["id"] for r in out.records) == list(range(1, 231))


def test_token_is_reused_until_shortly_before_expires_in(simulator, tmp_path, monkeypatch):
    """The connector's monotonic clock is tied to Halo's work: 50 s pass with every request Halo
    answers. A token that expires in 3600 s is reused for ~70 requests, and renewed when less than
    a minute of it is left: before it expires, not at the last second and not early."""
    sim = simulator(tickets=2000, seed=3, token_ttl=3600)
    step = 50.0
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(monotonic=lambda: step * len(sim.request_log)))
    out = run_connector("read", sim_config(sim, page_size=10, parallel_requests=1), tmp_path, TICKETS)
    assert not out.errors, out.errors
    assert {r["id"] for r in out.records} == set(sim.truth())
    log = sim.request_log
    posts = [i for i, entry in enumerate(log) if entry["path"] == "/auth/token"]
    assert len(log) > 2 * 3600 / step, "the read is too short to need a second token"
    assert len(posts) >= 2 and len(posts) < len(log) / 30  # reused, not one token per request
    for previous, renewal in zip(posts, posts[1:]):
        # The connector's clock when a token arrived (its POST answered) and when it asked for the
        # next one (before that POST was answered).
        lived = step * (renewal - previous - 1)
        assert 3600 - 60 <= lived < 3600, (previous, renewal, lived)


def test_401_refreshes_the_token_once_and_retries(frozen_clock, tmp_path):
    cfg = config()
    rows = {"open_only": tickets([1, 2, 3], START + dt.timedelta(days=2)), "closed_only": [ticket(4, START + dt.timedelta(days=4))]}
    with HttpMocker() as http:
        token = token_request(cfg).build()
        http.post(token, [token_response("t-1").build(), token_response("t-2").build(), token_response("t-3").build()])
        rejected = {}
        for part, part_rows in rows.items():
            # Halo rejects the first token (both parts are asked at once with it) and accepts the second.
            rejected[part] = tickets_request().window(START, NOW).part(part).token("t-1").build()
            http.get(rejected[part], unauthorized())
            http.get(tickets_request().window(START, NOW).part(part).token("t-2").build(), tickets_page(part_rows).build())
        mock_deleted(http)
        out = run_connector("read", cfg, tmp_path, TICKETS)
        http.assert_number_of_calls(token, 2)  # however many requests saw t-1 rejected: one new token
        rejections = [number_of_calls(http, request) for request in rejected.values()]
    assert not out.errors, out.errors
    assert sorted(r["id"] for r in out.records) == [1, 2, 3, 4]
    # Halo rejected t-1 at least once; a part whose request was signed before the new token arrived
    # saw it rejected once, and never sent it again.
    assert sum(rejections) >= 1 and max(rejections) == 1, rejections


def test_second_401_after_refresh_is_a_config_error_naming_tenant_and_url(simulator, tmp_path):
    """Halo's token endpoint issues tokens its API rejects at once (here: tokens that live 0 s), as
    when tenant and base_url name different instances. Against the simulator, not HttpMocker: under
    requests-mock `response.request` is a new proxy object at every attempt, so the connector, which
    counts 401s per request object, never sees the same request rejected twice."""
    sim = simulator(tickets=50, token_ttl=0)
    out = run_connector("read", sim_config(sim, parallel_requests=1), tmp_path, TICKETS)
    assert out.records == []
    error = out.errors[-1]
    assert error["failure_type"] == "config_error"
    assert "tenant 'demo'" in error["message"] and sim.base_url in error["message"], error["message"]
    first = [(e["method"], e["path"], e["status"]) for e in sim.request_log[:4]]
    assert first == [("POST", "/auth/token", 200), ("GET", "/api/Tickets", 401), ("POST", "/auth/token", 200), ("GET", "/api/Tickets", 401)]
    assert sim.request_log[1]["params"] == sim.request_log[3]["params"]  # the same request, once more with the new token


def test_invalid_client_is_a_config_error_that_never_shows_the_secret(frozen_clock, tmp_path):
    cfg = config()
    with HttpMocker() as http:
        token = token_request(cfg).build()
        http.post(token, oauth_error(401, "invalid_client", f"The specified client credentials are invalid. {SECRET}").build())
        out = run_connector("read", cfg, tmp_path, TICKETS)
        # Never retried: at most the one token request of each part asked at once.
        assert number_of_calls(http, token) <= 2
    error = out.errors[-1]
    assert error["failure_type"] == "config_error"
    assert "client_id" in error["message"] and "client_secret" in error["message"] and "tenant" in error["message"]
    assert SECRET not in out.raw
