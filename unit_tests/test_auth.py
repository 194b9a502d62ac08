"""The token request, token reuse and refresh, and the one-refresh-on-401 rule, seen from the wire."""
import datetime as dt
from urllib.parse import parse_qs, urlparse

from unit_tests.conftest import SECRET, TOKEN_URL, catalog, make_config, make_tickets, run_connector


def _token_requests(halo):
    return [r for r in halo.mocker.request_history if r.method == "POST"]


def test_token_request_is_form_encoded_client_credentials_with_tenant_and_scope(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(5, dt.datetime(2024, 2, 1), dt.timedelta(hours=1)))
    run_connector("read", make_config(scope="read:tickets read:customers"), tmp_path, catalog("tickets"))
    token = _token_requests(halo)[0]
    assert urlparse(token.url).path == "/auth/token"
    assert parse_qs(urlparse(token.url).query) == {"tenant": ["acme"]}
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token.text) == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-id-1"],
        "client_secret": [SECRET],
        "scope": ["read:tickets read:customers"],
    }


def test_empty_tenant_sends_no_tenant_parameter(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(5, dt.datetime(2024, 2, 1), dt.timedelta(hours=1)))
    run_connector("read", make_config(tenant=""), tmp_path, catalog("tickets"))
    assert urlparse(_token_requests(halo)[0].url).query == ""


def test_one_token_is_reused_for_every_request(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(900, dt.datetime(2024, 2, 1), dt.timedelta(hours=1)))
    out = run_connector("read", make_config(page_size=20), tmp_path, catalog("tickets"))
    assert len(out.records) == 900
    assert len(_token_requests(halo)) == 1
    assert {r["auth"] for r in halo.ticket_requests} == {"Bearer token-1"}


def test_token_is_reused_until_shortly_before_expires_in(fake_halo):
    from source_haloitsm.auth import HaloTokenProvider
    from source_haloitsm.config import parse_config
    from source_haloitsm.rate_limit import request_budget

    halo = fake_halo([])
    halo.expires_in = 3600
    provider = HaloTokenProvider(parse_config(make_config()), request_budget(100))
    now = [1000.0]
    provider.clock = lambda: now[0]
    assert provider.token() == "token-1"
    now[0] += 3600 - 61  # still outside the 60 s safety margin
    assert provider.token() == "token-1"
    now[0] += 2  # 59 s before expiry: refreshed before Halo would reject it
    assert provider.token() == "token-2"
    assert len(_token_requests(halo)) == 2


def test_401_refreshes_the_token_once_and_retries(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(30, dt.datetime(2024, 2, 1), dt.timedelta(hours=1)))
    rejected = []

    def reject_first_token(entry):
        if entry["auth"] == "Bearer token-1":
            rejected.append(entry)
            return {"status": 401, "json": None}
        return None

    halo.before_page = reject_first_token
    out = run_connector("read", make_config(), tmp_path, catalog("tickets"))
    assert len(out.records) == 30
    assert len(_token_requests(halo)) == 2  # parallel 401s on the same token cause one refresh
    assert rejected


def test_second_401_after_refresh_is_a_config_error_naming_tenant_and_url(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(30, dt.datetime(2024, 2, 1), dt.timedelta(hours=1)))
    halo.before_page = lambda entry: {"status": 401, "json": None}
    out = run_connector("read", make_config(parallel_requests=1), tmp_path, catalog("tickets"))
    assert out.records == []
    error = out.errors[-1]
    assert error["failure_type"] == "config_error"
    assert "tenant 'acme'" in error["message"] and "https://acme.haloitsm.com" in error["message"]
    assert len(_token_requests(halo)) == 2


def test_invalid_client_is_a_config_error_that_never_shows_the_secret(fake_halo, tmp_path):
    halo = fake_halo([])
    halo.mocker.post(
        TOKEN_URL + "?tenant=acme",
        status_code=401,
        json={"error": "invalid_client", "error_description": f"The specified client credentials are invalid. {SECRET}"},
    )
    out = run_connector("read", make_config(), tmp_path, catalog("tickets"))
    error = out.errors[-1]
    assert error["failure_type"] == "config_error"
    assert "client_id" in error["message"] and "client_secret" in error["message"] and "tenant" in error["message"]
    assert SECRET not in out.raw
