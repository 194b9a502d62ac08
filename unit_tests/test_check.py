"""check: each way it can fail says what is wrong and what to do; success reads one ticket."""
import datetime as dt
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from unit_tests.conftest import BASE_URL, SECRET, TOKEN_URL, make_config, make_tickets, run_connector

TOKEN_ANY = re.compile(re.escape(TOKEN_URL))
TICKETS_ANY = re.compile(re.escape(BASE_URL) + r"/api/Tickets")


def _check(config, tmp_path):
    out = run_connector("check", config, tmp_path)
    assert SECRET not in out.raw
    return out.connection_status


def test_check_succeeds_with_a_token_and_one_ticket(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(3, dt.datetime(2024, 2, 1), dt.timedelta(hours=1)))
    status = _check(make_config(), tmp_path)
    assert status["status"] == "SUCCEEDED"
    assert [parse_qs(urlparse(r.url).query)["page_size"] for r in halo.mocker.request_history if r.method == "GET"] == [["1"]]


def _failing_token(mocker, **kwargs):
    mocker.post(TOKEN_ANY, **kwargs)


CASES = {
    "bad credentials": (
        lambda m: _failing_token(m, status_code=401, json={"error": "invalid_client", "error_description": "The specified client credentials are invalid."}),
        ["client_id", "client_secret", "tenant 'acme'", "/auth/token"],
    ),
    "wrong tenant (Halo answers 500)": (
        lambda m: _failing_token(m, status_code=500, json={"ClassName": "System.Exception", "Message": "Tenant not found"}),
        ["tenant", "'acme'", "API Details"],
    ),
    "DNS": (
        lambda m: _failing_token(m, exc=requests.exceptions.ConnectionError("Failed to resolve 'acme.haloitsm.com' ([Errno -2] Name or service not known)")),
        ["could not be found", "base_url"],
    ),
    "connection refused": (
        lambda m: _failing_token(m, exc=requests.exceptions.ConnectionError("[Errno 111] Connection refused")),
        ["refused", "base_url"],
    ),
    "TLS": (
        lambda m: _failing_token(m, exc=requests.exceptions.SSLError("certificate verify failed")),
        ["TLS", "base_url"],
    ),
    "invalid scope": (
        lambda m: _failing_token(m, status_code=400, json={"error": "invalid_scope"}),
        ["scope", "read:tickets"],
    ),
    "404 on /api": (
        lambda m: m.get(TICKETS_ANY, status_code=404, text="Not Found"),
        ["404", "base_url", "without"],
    ),
    "403": (
        lambda m: m.get(TICKETS_ANY, status_code=403, json={"error": "You don't have permissions to access this"}),
        ["403", "read:tickets", "agent"],
    ),
    "HTML instead of the API": (
        lambda m: m.get(TICKETS_ANY, status_code=200, text="<html>Login</html>", headers={"Content-Type": "text/html"}),
        ["base_url", "JSON"],
    ),
    "no tickets visible": (
        lambda m: m.get(TICKETS_ANY, json={"page_no": 1, "page_size": 1, "record_count": 0, "tickets": []}),
        ["no tickets", "agent", "permissions"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_check_failure_names_cause_and_fix(case, fake_halo, tmp_path):
    halo = fake_halo(make_tickets(3, dt.datetime(2024, 2, 1), dt.timedelta(hours=1)))
    arrange, phrases = CASES[case]
    arrange(halo.mocker)
    status = _check(make_config(max_retries=1), tmp_path)
    assert status["status"] == "FAILED"
    assert status["message"][0] not in "'\"", status["message"]  # shown as written, not as a repr()
    for phrase in phrases:
        assert phrase in status["message"], (phrase, status["message"])
    assert "Traceback" not in status["message"]


def test_unknown_type_id_lists_the_types_halo_has(fake_halo, tmp_path):
    fake_halo(make_tickets(3, dt.datetime(2024, 2, 1), dt.timedelta(hours=1)))
    status = _check(make_config(ticket_types=[{"name": "problems", "type_id": 3}]), tmp_path)
    assert status["status"] == "FAILED"
    assert "'ticket_types' entry 'problems'" in status["message"] and "type_id 3" in status["message"]
    assert "1 (Incident), 2 (Service Request)" in status["message"]
